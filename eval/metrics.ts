/*
 * Ranking metrics over one query: `ranked` is the system's document ids, best first (duplicates
 * are the caller's job to remove); `judged` maps relevant doc ids to grades >= 1. Binary
 * metrics count every judged document as relevant. All follow trec_eval's conventions.
 */

export type Judgments = ReadonlyMap<string, number>;

/** nDCG@k with linear gain (grade) and log2(rank + 1) discount, ideal from all judgments. */
export function ndcgAt(ranked: readonly string[], judged: Judgments, k = 10): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, index) => {
    dcg += (judged.get(id) ?? 0) / Math.log2(index + 2);
  });
  const ideal = [...judged.values()]
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, grade, index) => sum + grade / Math.log2(index + 2), 0);
  return ideal === 0 ? 0 : dcg / ideal;
}

/** Share of the relevant documents found in the top k. */
export function recallAt(ranked: readonly string[], judged: Judgments, k = 100): number {
  if (judged.size === 0) return 0;
  const found = ranked.slice(0, k).filter((id) => judged.has(id)).length;
  return found / judged.size;
}

/** Reciprocal rank of the first relevant document within the top k (0 if none). */
export function mrrAt(ranked: readonly string[], judged: Judgments, k = 10): number {
  const index = ranked.slice(0, k).findIndex((id) => judged.has(id));
  return index < 0 ? 0 : 1 / (index + 1);
}

/** Average precision over the top k, divided by all relevant documents (as trec_eval). */
export function averagePrecisionAt(ranked: readonly string[], judged: Judgments, k = 100): number {
  if (judged.size === 0) return 0;
  let hits = 0;
  let sum = 0;
  ranked.slice(0, k).forEach((id, index) => {
    if (!judged.has(id)) return;
    hits += 1;
    sum += hits / (index + 1);
  });
  return sum / judged.size;
}

export interface MetricSummary {
  ndcg10: number;
  recall100: number;
  mrr10: number;
  map100: number;
  queries: number;
}

/** Mean of each metric over queries; a query with no results scores 0. */
export function summarize(
  runs: readonly { ranked: readonly string[]; judged: Judgments }[],
): MetricSummary {
  const mean = (metric: (ranked: readonly string[], judged: Judgments) => number): number =>
    runs.length === 0
      ? 0
      : runs.reduce((sum, run) => sum + metric(run.ranked, run.judged), 0) / runs.length;
  return {
    ndcg10: mean((r, j) => ndcgAt(r, j, 10)),
    recall100: mean((r, j) => recallAt(r, j, 100)),
    mrr10: mean((r, j) => mrrAt(r, j, 10)),
    map100: mean((r, j) => averagePrecisionAt(r, j, 100)),
    queries: runs.length,
  };
}

/** The value at quantile q (0..1) of a list, nearest-rank method. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/** Document ids in first-seen order: a document's best chunk stands for it. */
export function uniqueInOrder(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
