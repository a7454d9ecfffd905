import type { ChunkRecord, ScoredChunk, Store } from "../store/store.ts";
import {
  type Bm25Parameters,
  bm25Score,
  type CollectionStatistics,
  countTerms,
  DEFAULT_BM25,
  proximityScore,
  type TermCounts,
} from "./bm25.ts";
import { isExpansionCandidate, keywordQueryTerms, keywordTokens } from "./keyword-terms.ts";

/*
 * RM3 on the keyword side (Lavrenko & Croft, 2001; Jaleel et al., 2004; as in Anserini): the top
 * first-pass results are taken as relevant, a relevance model P(t|R) is estimated from them,
 * and the query becomes λ·P(t|Q) + (1 − λ)·P(t|R) over the original and the best expansion
 * terms. FTS5 cannot weight query terms, so FTS5 only finds the candidates (the first pass plus
 * a search for the expansion terms) and the candidates are re-scored here with weighted BM25.
 */

export interface Rm3Options {
  /** Top first-pass results taken as relevant. */
  documents: number;
  /** Expansion terms kept from the relevance model. */
  terms: number;
  /** λ: the original query's share of the final query model. */
  originalWeight: number;
  /** Candidates from each FTS5 search (original, expansion) that are re-scored. */
  candidates: number;
  bm25: Bm25Parameters;
  /** Add BM25TP term proximity for the original query terms (`proximityScore`). */
  proximity: boolean;
  /**
   * An expansion term must occur in at least this many feedback documents (1: any). A term
   * that only one document uses is that document's, not the topic's (EVAL.md: 2 is ≥ 1 on all
   * three collections). Used by `rm3QueryModel`; the re-scoring path ignores it.
   */
  minDocuments?: number;
}

/**
 * Anserini's RM3 settings (10 documents, λ 0.5) but 20 terms, the number the vector side's
 * feedback already uses; textbook BM25; proximity on. EVAL.md has the measurements.
 */
export const DEFAULT_RM3: Rm3Options = {
  documents: 10,
  terms: 20,
  originalWeight: 0.5,
  candidates: 100,
  bm25: DEFAULT_BM25,
  proximity: true,
};

/**
 * P(t|R) ∝ Σ_d w(d)·tf(t,d)/|d| over the feedback documents, w(d) their share of the
 * first-pass scores; the `terms` likeliest candidates, renormalised to sum to 1.
 */
export function relevanceModel(
  feedback: readonly { counts: TermCounts; score: number }[],
  terms: number,
  admit: (term: string) => boolean = () => true,
): Map<string, number> {
  const total = feedback.reduce((sum, item) => sum + Math.max(0, item.score), 0);
  const model = new Map<string, number>();
  for (const { counts, score } of feedback) {
    if (counts.length === 0) continue;
    const weight = total > 0 ? Math.max(0, score) / total : 1 / feedback.length;
    for (const [term, tf] of counts.frequencies) {
      if (!isExpansionCandidate(term)) continue;
      model.set(term, (model.get(term) ?? 0) + (weight * tf) / counts.length);
    }
  }
  const kept = [...model]
    .filter(([term]) => admit(term))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, terms);
  const mass = kept.reduce((sum, [, probability]) => sum + probability, 0);
  return new Map(kept.map(([term, probability]) => [term, mass > 0 ? probability / mass : 0]));
}

/** λ·P(t|Q) + (1 − λ)·P(t|R), with P(t|Q) the query's term counts normalised. */
export function interpolateQueryModels(
  query: ReadonlyMap<string, number>,
  expansion: ReadonlyMap<string, number>,
  originalWeight: number,
): Map<string, number> {
  const queryMass = [...query.values()].reduce((sum, count) => sum + count, 0);
  const mixed = new Map<string, number>();
  if (queryMass > 0) {
    for (const [term, count] of query) mixed.set(term, (originalWeight * count) / queryMass);
  }
  const expansionWeight = queryMass > 0 ? 1 - originalWeight : 1;
  for (const [term, probability] of expansion) {
    mixed.set(term, (mixed.get(term) ?? 0) + expansionWeight * probability);
  }
  return mixed;
}

/**
 * The RM3 query model λ·P(t|Q) + (1 − λ)·P(t|R) for `query`, P(t|R) from the top `documents`
 * of the first pass; null when there is nothing to expand (no results, no candidate terms).
 * The full-collection search for it is the store's `weightedKeywordSearch`.
 */
export async function rm3QueryModel(
  store: Store,
  query: string,
  firstPass: readonly ScoredChunk[],
  options: Pick<Rm3Options, "documents" | "terms" | "originalWeight" | "minDocuments">,
): Promise<Map<string, number> | null> {
  const top = firstPass.slice(0, options.documents);
  if (top.length === 0) return null;
  const chunks = await store.getChunks(top.map((result) => result.chunkId));
  const countsOf = new Map(
    chunks.map((chunk) => [
      chunk.chunkId,
      countTerms(keywordTokens(`${chunk.title ?? ""}\u0000${chunk.text}`)),
    ]),
  );
  const feedback = top.flatMap((result) => {
    const counts = countsOf.get(result.chunkId);
    return counts ? [{ counts, score: result.score }] : [];
  });
  const minimum = options.minDocuments ?? 1;
  const expansion = relevanceModel(feedback, options.terms, (term) => {
    if (minimum <= 1) return true;
    let documents = 0;
    for (const item of feedback) if (item.counts.frequencies.has(term)) documents++;
    return documents >= minimum;
  });
  if (expansion.size === 0) return null;
  return interpolateQueryModels(keywordQueryTerms(query), expansion, options.originalWeight);
}

// Chunk texts never change under one id (ids are not reused), so their term counts are kept;
// the text is compared anyway (a re-upload can retitle a document), and the cache is dropped
// wholesale when full. An entry holds the text, its tokens and counts (~10 KB for a 512-token
// chunk), so 5,000 entries bound it near 50 MB: 20,000 grew a loaded server's RSS by 150 MB.
const COUNTS_CACHE_LIMIT = 5_000;

/** Keyword search with RM3 re-scoring; one instance per search service (it caches). */
export class Rm3Reranker {
  private readonly counts = new Map<
    number,
    { text: string; counts: TermCounts; tokens: string[] }
  >();

  constructor(private readonly store: Store) {}

  /** Whether the store offers what re-scoring needs (document frequencies). */
  get available(): boolean {
    return this.store.termStatistics !== undefined;
  }

  /**
   * The first pass re-ranked under the RM3 query model, with the candidates the expansion
   * terms find added; `search` is the store's keyword search (text, depth). The first pass
   * unchanged when statistics are missing or nothing can be expanded.
   */
  async rerank(
    collection: string,
    query: string,
    firstPass: readonly ScoredChunk[],
    search: (text: string, k: number) => Promise<ScoredChunk[]>,
    options: Rm3Options,
    expansionCandidates?: readonly ScoredChunk[],
  ): Promise<ScoredChunk[]> {
    const unchanged = [...firstPass];
    if (!this.store.termStatistics || firstPass.length === 0) return unchanged;
    const original = keywordQueryTerms(query);
    const firstIds = firstPass.slice(0, options.candidates).map((result) => result.chunkId);
    const firstCounts = await this.countsOf(firstIds);
    const top = firstPass.slice(0, options.documents);
    const expansion = relevanceModel(
      top.flatMap((result) => {
        const counts = firstCounts.get(result.chunkId);
        return counts ? [{ counts, score: result.score }] : [];
      }),
      options.terms,
    );
    if (expansion.size === 0) return unchanged;
    const model = interpolateQueryModels(original, expansion, options.originalWeight);
    // the caller may already hold a keyword search for (nearly) the same expansion terms
    const found =
      expansionCandidates ?? (await search([...expansion.keys()].join(" "), options.candidates));
    const ids = [...new Set([...firstIds, ...found.map((result) => result.chunkId)])];
    const [newCounts, statistics] = await Promise.all([
      this.countsOf(ids.filter((id) => !firstCounts.has(id))),
      this.statistics(collection, [...model.keys()]),
    ]);
    if (!statistics) return unchanged;
    const candidateCounts = new Map([...firstCounts, ...newCounts]);
    return this.score(ids, candidateCounts, model, original, statistics, options);
  }

  /** Candidates by weighted BM25 (+ proximity of the original terms), best first. */
  private score(
    ids: readonly number[],
    counts: ReadonlyMap<number, TermCounts>,
    model: ReadonlyMap<string, number>,
    original: ReadonlyMap<string, number>,
    given: CollectionStatistics,
    options: Rm3Options,
  ): ScoredChunk[] {
    let statistics = given;
    if (statistics.averageLength <= 0) {
      // no index-wide average: the candidates' own is the best estimate at hand
      const lengths = [...counts.values()].map((item) => item.length);
      const averageLength = lengths.reduce((sum, length) => sum + length, 0) / lengths.length;
      statistics = { ...given, averageLength };
    }
    const proximityQuery = new Map(
      [...original.keys()].map((term) => [term, model.get(term) ?? 0]),
    );
    return ids
      .flatMap((chunkId) => {
        const termCounts = counts.get(chunkId);
        if (!termCounts) return [];
        let score = bm25Score(model, termCounts, statistics, options.bm25);
        const tokens = this.counts.get(chunkId)?.tokens;
        if (options.proximity && tokens) {
          score += proximityScore(proximityQuery, tokens, statistics, options.bm25);
        }
        return [{ chunkId, score }];
      })
      .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  }

  private async statistics(
    collection: string,
    terms: string[],
  ): Promise<CollectionStatistics | null> {
    if (!this.store.termStatistics) return null;
    const [{ chunkCount, documentFrequencies }, averageLength] = await Promise.all([
      this.store.termStatistics(collection, terms),
      this.store.averageKeywordLength ? this.store.averageKeywordLength(collection) : 0,
    ]);
    if (chunkCount === 0) return null;
    return { documents: chunkCount, documentFrequencies, averageLength };
  }

  private async countsOf(chunkIds: number[]): Promise<Map<number, TermCounts>> {
    const chunks = await this.store.getChunks(chunkIds);
    const result = new Map<number, TermCounts>();
    for (const chunk of chunks) result.set(chunk.chunkId, this.countsFor(chunk));
    return result;
  }

  private countsFor(chunk: ChunkRecord): TermCounts {
    // FTS5 indexes the title and the text as two columns of one row; BM25 counts both
    const text = `${chunk.title ?? ""}\u0000${chunk.text}`;
    const cached = this.counts.get(chunk.chunkId);
    if (cached && cached.text === text) return cached.counts;
    const tokens = keywordTokens(text);
    const counts = countTerms(tokens);
    if (this.counts.size >= COUNTS_CACHE_LIMIT) this.counts.clear();
    this.counts.set(chunk.chunkId, { text, counts, tokens });
    return counts;
  }
}
