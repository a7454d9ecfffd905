import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import { AppError } from "../errors.ts";
import type { ChunkRecord, MetadataFilter, ScoredChunk, Store } from "../store/store.ts";
import { reciprocalRankFusion } from "./fusion.ts";

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

export interface HybridOptions {
  /** How many candidates each retriever contributes before fusion. */
  candidates: number;
  rrfK: number;
  keywordWeight: number;
  vectorWeight: number;
}

export const DEFAULT_HYBRID: HybridOptions = {
  candidates: 100,
  rrfK: 60,
  keywordWeight: 1,
  vectorWeight: 1,
};

/** Keyword, vector and hybrid retrieval over one store. */
export class SearchService {
  constructor(
    private readonly store: Store,
    private readonly embedders: EmbedderRegistry,
    private readonly hybrid: HybridOptions = DEFAULT_HYBRID,
  ) {}

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
    const vectorResults = async (k: number): Promise<ScoredChunk[]> => {
      const model = this.embedders.modelFor(collection.embedding);
      const embedded = await model.doEmbed({ values: [request.query], purpose: "query" });
      embeddingTokens += embedded.usage.tokens;
      const vector = embedded.embeddings[0] as Float32Array;
      return this.store.vectorSearch({
        collection: request.collection,
        vector,
        k,
        filter: request.filter,
      });
    };
    const keywordResults = (k: number): Promise<ScoredChunk[]> =>
      this.store.keywordSearch({
        collection: request.collection,
        text: request.query,
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
      const [keyword, vector] = await Promise.all([keywordResults(depth), vectorResults(depth)]);
      ranked = reciprocalRankFusion(
        [
          { results: keyword, weight: this.hybrid.keywordWeight },
          { results: vector, weight: this.hybrid.vectorWeight },
        ],
        this.hybrid.rrfK,
      ).slice(0, request.k);
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
