import { analyzeText } from "../embed/text-analysis.ts";
import type { ScoredChunk, Store } from "../store/store.ts";
import { inverseDocumentFrequency } from "./query-weights.ts";

const CANDIDATE_FLOOR = 50;
const CANDIDATES_PER_TERM = 5;

/** Pseudo-relevance feedback settings (RM3-style); see `expansionTerms`. */
export interface FeedbackOptions {
  /** How many top keyword results are taken as relevant. */
  documents: number;
  /** How many expansion terms are kept. */
  terms: number;
  /** Share of the final query vector given to the expansion (RM3's 1 − λ). */
  weight: number;
  /** Fusion weight of a keyword search for the expansion terms (0: none). */
  keywordWeight: number;
}

/**
 * Expansion terms from a relevance model (Lavrenko & Croft; RM3 as in Jaleel et al., 2004): the
 * top keyword results are assumed relevant, each term scores Σ_d w(d)·P(t|d) with w(d) the
 * document's share of their keyword scores, and that score is multiplied by the term's IDF,
 * because the hashed vectors it feeds carry no collection statistics of their own.
 */
export async function expansionTerms(
  store: Store,
  collection: string,
  keywordResults: readonly ScoredChunk[],
  options: FeedbackOptions,
): Promise<Map<string, number>> {
  const top = keywordResults.slice(0, options.documents);
  if (top.length === 0 || !store.termStatistics) return new Map();
  const chunks = await store.getChunks(top.map((result) => result.chunkId));
  const scoreOf = new Map(top.map((result) => [result.chunkId, Math.max(0, result.score)]));
  const total = [...scoreOf.values()].reduce((sum, score) => sum + score, 0);
  const model = new Map<string, number>();
  for (const chunk of chunks) {
    const terms = analyzeText(`${chunk.title ?? ""} ${chunk.text}`, "document");
    if (terms.length === 0) continue;
    const documentWeight =
      total > 0 ? (scoreOf.get(chunk.chunkId) ?? 0) / total : 1 / chunks.length;
    for (const term of terms) {
      model.set(term, (model.get(term) ?? 0) + documentWeight / terms.length);
    }
  }
  // IDF is looked up for the likeliest terms only: lookups cost ~30 µs each on SQLite
  const candidates = [...model]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, Math.max(CANDIDATE_FLOOR, CANDIDATES_PER_TERM * options.terms));
  const { chunkCount, documentFrequencies } = await store.termStatistics(
    collection,
    candidates.map(([term]) => term),
  );
  const scored = candidates.map(([term, probability]): [string, number] => [
    term,
    probability * inverseDocumentFrequency(documentFrequencies.get(term) ?? 0, chunkCount),
  ]);
  scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return new Map(scored.slice(0, options.terms));
}

/** (1 − weight)·query + weight·expansion, L2-normalised; the query alone if either is zero. */
export function interpolate(
  query: Float32Array,
  expansion: Float32Array,
  weight: number,
): Float32Array {
  const mixed = new Float32Array(query.length);
  let squares = 0;
  for (let index = 0; index < query.length; index++) {
    const value = (1 - weight) * (query[index] ?? 0) + weight * (expansion[index] ?? 0);
    mixed[index] = value;
    squares += value * value;
  }
  const norm = Math.sqrt(squares);
  if (norm === 0) return query;
  for (let index = 0; index < mixed.length; index++) mixed[index] = (mixed[index] ?? 0) / norm;
  return mixed;
}
