import type { ScoredChunk } from "../store/store.ts";

export interface RankedList {
  results: ScoredChunk[];
  /** How much this list counts in the fusion. */
  weight: number;
}

/**
 * Reciprocal rank fusion (Cormack et al., 2009): each list contributes weight / (k + rank) for
 * every item it ranks. Scale-free, so BM25 scores and cosine similarities need no calibration.
 */
export function reciprocalRankFusion(lists: RankedList[], k = 60): ScoredChunk[] {
  const fused = new Map<number, number>();
  for (const { results, weight } of lists) {
    results.forEach((result, index) => {
      fused.set(result.chunkId, (fused.get(result.chunkId) ?? 0) + weight / (k + index + 1));
    });
  }
  return [...fused]
    .map(([chunkId, score]) => ({ chunkId, score }))
    .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
}
