import type { SearchHit, SearchService } from "../search/search-service.ts";
import type { MetadataFilter } from "../store/filter-expression.ts";
import type { VectorStoreSettings, VectorStores } from "./vector-stores.ts";

export interface StoreSearchRequest {
  vectorStoreIds: string[];
  queries: string[];
  maxResults: number;
  filter?: MetadataFilter | undefined;
  scoreThreshold?: number | undefined;
}

export interface ScoredHit {
  hit: SearchHit;
  vectorStoreId: string;
  /** In [0, 1]: the hit's fused score relative to the best hit's (which scores 1). */
  score: number;
  /** A file no longer in the store (detached meanwhile) is left out by the caller. */
  fileId: string;
}

export interface StoreSearchResult {
  hits: ScoredHit[];
  embeddingTokens: number;
  views: VectorStoreSettings[];
}

/**
 * Hybrid search over one or more vector stores with the filter applied inside retrieval. Several
 * queries are searched as one (joined), and several stores are merged by score. Fused scores
 * are rank-based, not calibrated similarities, so each is reported relative to the best hit:
 * `score_threshold` keeps hits within that fraction of the best.
 */
export async function searchVectorStores(
  deps: { search: SearchService; vectorStores: VectorStores },
  request: StoreSearchRequest,
): Promise<StoreSearchResult> {
  const views: VectorStoreSettings[] = [];
  for (const id of request.vectorStoreIds) {
    const view = await deps.vectorStores.settings(id);
    await deps.vectorStores.touch(view);
    views.push(view);
  }
  const query = request.queries.join(" ");
  let embeddingTokens = 0;
  const found: { hit: SearchHit; vectorStoreId: string }[] = [];
  for (const view of views) {
    const response = await deps.search.search({
      collection: view.id,
      query,
      k: request.maxResults,
      mode: "hybrid",
      filter: request.filter,
    });
    embeddingTokens += response.embeddingTokens;
    for (const hit of response.hits) found.push({ hit, vectorStoreId: view.id });
  }
  found.sort((a, b) => b.hit.score - a.hit.score);
  const best = found[0]?.hit.score ?? 0;
  const hits = found
    .slice(0, request.maxResults)
    .map(({ hit, vectorStoreId }) => ({
      hit,
      vectorStoreId,
      fileId: hit.documentId,
      score: best > 0 ? Math.min(1, Math.max(0, hit.score / best)) : 0,
    }))
    .filter((scored) => scored.score >= (request.scoreThreshold ?? 0));
  return { hits, embeddingTokens, views };
}
