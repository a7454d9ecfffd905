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

/**
 * Convex combination of min-max normalised scores (CombSUM): each list's scores are mapped to
 * [0, 1] over its own candidates, then summed with the list's weight; an item a list did not
 * return gets 0 from it. Unlike RRF it keeps how far apart the scores are.
 */
export function normalizedScoreFusion(lists: RankedList[]): ScoredChunk[] {
  const fused = new Map<number, number>();
  for (const { results, weight } of lists) {
    if (results.length === 0) continue;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const { score } of results) {
      low = Math.min(low, score);
      high = Math.max(high, score);
    }
    const span = high - low;
    for (const { chunkId, score } of results) {
      const normalized = span > 0 ? (score - low) / span : 1;
      fused.set(chunkId, (fused.get(chunkId) ?? 0) + weight * normalized);
    }
  }
  return [...fused]
    .map(([chunkId, score]) => ({ chunkId, score }))
    .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
}
