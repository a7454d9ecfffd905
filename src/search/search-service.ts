import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import { LocalEmbeddingModel } from "../embed/local-embedder.ts";
import { AppError } from "../errors.ts";
import { countTokens } from "../ingest/tokenizer.ts";
import type { ChunkRecord, MetadataFilter, ScoredChunk, Store } from "../store/store.ts";
import { expansionTerms, type FeedbackOptions, interpolate } from "./feedback.ts";
import { normalizedScoreFusion, type RankedList, reciprocalRankFusion } from "./fusion.ts";
import { queryTermWeights } from "./query-weights.ts";
import { DEFAULT_RM3, type Rm3Options, Rm3Reranker, rm3QueryModel } from "./rm3.ts";

export type SearchMode = "hybrid" | "vector" | "keyword";

export interface SearchRequest {
  collection: string;
  query: string;
  k: number;
  mode: SearchMode;
  filter?: MetadataFilter | undefined;
}

export interface SearchHit extends ChunkRecord {
  score: number;
}

export interface SearchResponse {
  hits: SearchHit[];
  mode: SearchMode;
  tookMs: number;
  /** Tokens spent embedding the query (0 for the local embedder's free tokens is still counted). */
  embeddingTokens: number;
}

/** Retrieval knobs; EVAL.md records what each default was measured to do. */
export interface SearchOptions {
  /** How many candidates each retriever contributes before fusion. */
  candidates: number;
  rrfK: number;
  /** Fusion weight of the plain keyword (BM25) list; 0 leaves it out of the fusion. */
  keywordWeight: number;
  /** Fusion weight of the vector list; 0 skips the vector search altogether. */
  vectorWeight: number;
  /** Scale the local embedder's query features by IDF from the store's term statistics. */
  queryIdf: boolean;
  /** Reciprocal rank fusion, or a weighted sum of min-max normalised scores. */
  fusion: "rrf" | "score";
  /** Hybrid with the local embedder: expand the vector query from the top keyword results. */
  feedback: FeedbackOptions | null;
  /**
   * Hybrid: BM25 + RM3 (`rm3.ts`) as one more list with this weight: the store's
   * `weightedKeywordSearch` ranks the expanded query over the collection; without it the
   * keyword candidates are re-scored (needs `Store.termStatistics`; skipped without that too).
   */
  rm3: (Rm3Options & { weight: number }) | null;
}

/** @deprecated the name before non-hybrid options joined; same type. */
export type HybridOptions = SearchOptions;

/**
 * Hybrid with the built-in (lexical, hashed) embedder: BM25 + RM3 alone. Over Cranfield, CISI
 * and NPL the hashed vector list, its pseudo-relevance feedback and the expansion keyword list
 * each lowered nDCG@10 when fused with it, or left it flat at several times the cost
 * (EVAL.md, ablations), so they are off; `mode: "vector"` still serves the vectors.
 */
export const LOCAL_SEARCH_OPTIONS: SearchOptions = {
  candidates: 100,
  rrfK: 60,
  keywordWeight: 0,
  vectorWeight: 0,
  queryIdf: true,
  fusion: "rrf",
  feedback: null,
  rm3: { ...DEFAULT_RM3, proximity: false, minDocuments: 2, weight: 1 },
};

/**
 * Hybrid with a semantic embedder (OpenAI): BM25 + RM3 and the vector list fused by RRF with
 * equal weights, the usual lexical + dense hybrid. Not measured here (no network in the eval
 * machine); the local embedder's tuning does not carry over, since its vectors are lexical.
 */
export const SEMANTIC_SEARCH_OPTIONS: SearchOptions = {
  ...LOCAL_SEARCH_OPTIONS,
  vectorWeight: 1,
};

/** The defaults for a collection's embedding provider. */
export function defaultSearchOptions(provider: EmbeddingConfig["provider"]): SearchOptions {
  return provider === "local" ? LOCAL_SEARCH_OPTIONS : SEMANTIC_SEARCH_OPTIONS;
}

/** @deprecated the local embedder's defaults; see `defaultSearchOptions`. */
export const DEFAULT_SEARCH_OPTIONS = LOCAL_SEARCH_OPTIONS;

/** @deprecated see DEFAULT_SEARCH_OPTIONS. */
export const DEFAULT_HYBRID = DEFAULT_SEARCH_OPTIONS;

/** Keyword, vector and hybrid retrieval over one store. */
export class SearchService {
  private readonly rm3: Rm3Reranker;

  constructor(
    private readonly store: Store,
    private readonly embedders: EmbedderRegistry,
    /** Fixed options, or the per-provider defaults (`defaultSearchOptions`) when absent. */
    private readonly fixedOptions?: SearchOptions,
  ) {
    this.rm3 = new Rm3Reranker(store);
  }

  /** Ranked chunks for a query, best first. */
  async search(request: SearchRequest): Promise<SearchResponse> {
    const started = performance.now();
    const collection = await this.store.getCollection(request.collection);
    if (!collection) {
      throw new AppError("not_found", `Collection "${request.collection}" was not found.`, {
        param: "collection",
      });
    }
    const options = this.fixedOptions ?? defaultSearchOptions(collection.embedding.provider);
    let embeddingTokens = 0;
    const vectorResults = async (
      k: number,
      expansion?: ReadonlyMap<string, number>,
    ): Promise<ScoredChunk[]> => {
      const model = this.embedders.modelFor(collection.embedding);
      const weights =
        options.queryIdf && model instanceof LocalEmbeddingModel
          ? await queryTermWeights(this.store, request.collection, request.query)
          : null;
      let vector: Float32Array;
      if (weights && model instanceof LocalEmbeddingModel) {
        vector = model.embedWeightedQuery(request.query, weights);
        embeddingTokens += countTokens(request.query);
      } else {
        const embedded = await model.doEmbed({ values: [request.query], purpose: "query" });
        embeddingTokens += embedded.usage.tokens;
        vector = embedded.embeddings[0] as Float32Array;
      }
      const { feedback } = options;
      if (feedback && expansion && expansion.size > 0 && model instanceof LocalEmbeddingModel) {
        vector = interpolate(vector, model.embedWeightedTerms(expansion), feedback.weight);
      }
      return this.store.vectorSearch({
        collection: request.collection,
        vector,
        k,
        filter: request.filter,
      });
    };
    const keywordResults = (k: number, text = request.query): Promise<ScoredChunk[]> =>
      this.store.keywordSearch({
        collection: request.collection,
        text,
        k,
        filter: request.filter,
      });

    let ranked: ScoredChunk[];
    if (request.mode === "keyword") {
      ranked = await keywordResults(request.k);
    } else if (request.mode === "vector") {
      ranked = await vectorResults(request.k);
    } else {
      const depth = Math.max(request.k, options.candidates);
      const { feedback, rm3 } = options;
      const fuse = (lists: RankedList[]): ScoredChunk[] =>
        options.fusion === "score"
          ? normalizedScoreFusion(lists)
          : reciprocalRankFusion(lists, options.rrfK);
      const needsVector = options.vectorWeight > 0 || (feedback !== null && feedback.weight > 0);
      let keyword: ScoredChunk[];
      let vector: ScoredChunk[] = [];
      let expanded: ScoredChunk[] = [];
      // RM3 over the whole collection (weightedKeywordSearch) reads only the first pass's top
      // documents, and a list fused with nothing else needs only k: shallower is faster
      // (early termination), the ranking is the same
      const wholeCollectionRm3 = rm3 !== null && this.store.weightedKeywordSearch !== undefined;
      const rm3Alone =
        wholeCollectionRm3 &&
        options.keywordWeight <= 0 &&
        options.vectorWeight <= 0 &&
        (feedback === null || feedback.keywordWeight <= 0);
      const keywordDepth =
        rm3Alone && feedback === null && rm3 ? Math.max(1, rm3.documents) : depth;
      if (feedback || rm3) {
        // feedback needs the keyword results first, so the retrievers no longer run together
        keyword = await keywordResults(keywordDepth);
        const expansion = feedback
          ? await expansionTerms(this.store, request.collection, keyword, feedback)
          : new Map<string, number>();
        [vector, expanded] = await Promise.all([
          needsVector ? vectorResults(depth, expansion) : Promise.resolve([]),
          feedback && feedback.keywordWeight > 0 && expansion.size > 0
            ? keywordResults(depth, [...expansion.keys()].join(" "))
            : Promise.resolve([]),
        ]);
      } else {
        [keyword, vector] = await Promise.all([
          keywordResults(depth),
          needsVector ? vectorResults(depth) : Promise.resolve([]),
        ]);
      }
      const lists: RankedList[] = [
        { results: keyword, weight: options.keywordWeight },
        { results: vector, weight: options.vectorWeight },
        { results: expanded, weight: feedback?.keywordWeight ?? 0 },
      ];
      if (rm3) {
        const results = await this.rm3List(
          request,
          keyword,
          expanded,
          rm3Alone ? request.k : depth,
          rm3,
        );
        // without expansion (nothing to learn from) RM3 is the keyword ranking itself
        const fallback = async () => (keywordDepth < depth ? keywordResults(depth) : keyword);
        lists.push({ results: results ?? (await fallback()), weight: rm3.weight });
      }
      ranked = fuse(lists.filter((list) => list.weight > 0)).slice(0, request.k);
      if (ranked.length < request.k && options.vectorWeight <= 0) {
        ranked = fillFrom(ranked, await vectorResults(request.k), request.k);
      }
    }
    const chunks = await this.store.getChunks(ranked.map((result) => result.chunkId));
    const scoreOf = new Map(ranked.map((result) => [result.chunkId, result.score]));
    return {
      hits: chunks.map((chunk) => ({ ...chunk, score: scoreOf.get(chunk.chunkId) ?? 0 })),
      mode: request.mode,
      tookMs: Math.round((performance.now() - started) * 100) / 100,
      embeddingTokens,
    };
  }

  /** The BM25 + RM3 list; null when the store can do neither kind of RM3. */
  private async rm3List(
    request: SearchRequest,
    keyword: ScoredChunk[],
    expanded: ScoredChunk[],
    depth: number,
    rm3: Rm3Options,
  ): Promise<ScoredChunk[] | null> {
    if (this.store.weightedKeywordSearch) {
      const model = await rm3QueryModel(this.store, request.query, keyword, rm3);
      if (!model) return null;
      const ranked = await this.store.weightedKeywordSearch({
        collection: request.collection,
        terms: model,
        k: depth,
        filter: request.filter,
      });
      if (ranked) return ranked;
    }
    if (!this.rm3.available) return null;
    // re-scores the first pass plus the candidates of an expansion search; the vector
    // feedback's keyword search is one already (same relevance model's terms, IDF-ranked)
    return this.rm3.rerank(
      request.collection,
      request.query,
      keyword,
      (text, k) =>
        this.store.keywordSearch({
          collection: request.collection,
          text,
          k,
          filter: request.filter,
        }),
      rm3,
      expanded.length > 0 ? expanded : undefined,
    );
  }
}

/**
 * Fills a ranking that found fewer than k chunks with the vector hits it lacks, ranked below it:
 * a query whose words match little still gets its nearest passages, and what was ranked keeps its
 * place (so nDCG and recall can only grow).
 */
function fillFrom(ranked: ScoredChunk[], extra: ScoredChunk[], k: number): ScoredChunk[] {
  const seen = new Set(ranked.map((result) => result.chunkId));
  const floor = ranked.at(-1)?.score ?? 1;
  const filled = [...ranked];
  for (const result of extra) {
    if (filled.length >= k) break;
    if (seen.has(result.chunkId)) continue;
    filled.push({ ...result, score: floor / (filled.length - ranked.length + 2) });
  }
  return filled;
}
