import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import { LocalEmbeddingModel } from "../embed/local-embedder.ts";
import { AppError } from "../errors.ts";
import { countTokens } from "../ingest/tokenizer.ts";
import type { ChunkRecord, MetadataFilter, ScoredChunk, Store } from "../store/store.ts";
import { expansionTerms, type FeedbackOptions, interpolate } from "./feedback.ts";
import { normalizedScoreFusion, type RankedList, reciprocalRankFusion } from "./fusion.ts";
import { queryTermWeights } from "./query-weights.ts";
import { DEFAULT_RM3, type Rm3Options, Rm3Reranker } from "./rm3.ts";

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
  keywordWeight: number;
  vectorWeight: number;
  /** Scale the local embedder's query features by IDF from the store's term statistics. */
  queryIdf: boolean;
  /** Reciprocal rank fusion, or a weighted sum of min-max normalised scores. */
  fusion: "rrf" | "score";
  /** Hybrid with the local embedder: expand the vector query from the top keyword results. */
  feedback: FeedbackOptions | null;
  /**
   * Hybrid: RM3 on the keyword side, re-scored with weighted BM25 (`rm3.ts`), fused as one more
   * list with this weight. Needs `Store.termStatistics`; skipped without it.
   */
  rm3: (Rm3Options & { weight: number }) | null;
}

/** @deprecated the name before non-hybrid options joined; same type. */
export type HybridOptions = SearchOptions;

export const DEFAULT_SEARCH_OPTIONS: SearchOptions = {
  candidates: 100,
  rrfK: 60,
  keywordWeight: 1,
  vectorWeight: 1,
  queryIdf: true,
  fusion: "rrf",
  // RM3-style feedback: +0.04 nDCG@10 on Cranfield for ≈ +5-10 ms (EVAL.md); without it the
  // lexical local embedder drags hybrid below plain BM25 at 256 dimensions
  feedback: { documents: 10, terms: 20, weight: 0.5, keywordWeight: 1 },
  // RM3 with weighted BM25 + proximity as a fourth list: 0.392 -> 0.399 nDCG@10 (EVAL.md)
  rm3: { ...DEFAULT_RM3, weight: 1 },
};

/** @deprecated see DEFAULT_SEARCH_OPTIONS. */
export const DEFAULT_HYBRID = DEFAULT_SEARCH_OPTIONS;

/** Keyword, vector and hybrid retrieval over one store. */
export class SearchService {
  private readonly rm3: Rm3Reranker;

  constructor(
    private readonly store: Store,
    private readonly embedders: EmbedderRegistry,
    private readonly hybrid: SearchOptions = DEFAULT_SEARCH_OPTIONS,
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
    let embeddingTokens = 0;
    const vectorResults = async (
      k: number,
      expansion?: ReadonlyMap<string, number>,
    ): Promise<ScoredChunk[]> => {
      const model = this.embedders.modelFor(collection.embedding);
      const weights =
        this.hybrid.queryIdf && model instanceof LocalEmbeddingModel
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
      const { feedback } = this.hybrid;
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
      const depth = Math.max(request.k, this.hybrid.candidates);
      const { feedback, rm3 } = this.hybrid;
      const fuse = (lists: RankedList[]): ScoredChunk[] =>
        this.hybrid.fusion === "score"
          ? normalizedScoreFusion(lists)
          : reciprocalRankFusion(lists, this.hybrid.rrfK);
      let keyword: ScoredChunk[];
      let vector: ScoredChunk[];
      let expanded: ScoredChunk[] = [];
      if (feedback || rm3) {
        // feedback needs the keyword results first, so the retrievers no longer run together
        keyword = await keywordResults(depth);
        const expansion = feedback
          ? await expansionTerms(this.store, request.collection, keyword, feedback)
          : new Map<string, number>();
        [vector, expanded] = await Promise.all([
          vectorResults(depth, expansion),
          feedback && feedback.keywordWeight > 0 && expansion.size > 0
            ? keywordResults(depth, [...expansion.keys()].join(" "))
            : Promise.resolve([]),
        ]);
      } else {
        [keyword, vector] = await Promise.all([keywordResults(depth), vectorResults(depth)]);
      }
      const lists: RankedList[] = [
        { results: keyword, weight: this.hybrid.keywordWeight },
        { results: vector, weight: this.hybrid.vectorWeight },
        { results: expanded, weight: feedback?.keywordWeight ?? 0 },
      ];
      if (rm3 && this.rm3.available) {
        // RM3 re-scores the first pass plus the candidates of an expansion search; the vector
        // feedback's keyword search is one already (its terms are the same relevance model's,
        // ranked with IDF): reusing it saves an FTS5 query and measured the same
        const results = await this.rm3.rerank(
          request.collection,
          request.query,
          keyword,
          (text, k) => keywordResults(k, text),
          rm3,
          expanded.length > 0 ? expanded : undefined,
        );
        lists.push({ results, weight: rm3.weight });
      }
      ranked = fuse(lists).slice(0, request.k);
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
}
