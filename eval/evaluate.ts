import type { SearchMode } from "../src/search/search-service.ts";
import { Bm25Baseline } from "./bm25-baseline.ts";
import type { Dataset } from "./dataset.ts";
import { type MetricSummary, percentile, summarize } from "./metrics.ts";
import type { SearchTarget } from "./targets.ts";

/** How deep each query is run: Recall@100 and MAP@100 need a hundred documents. */
export const RUN_DEPTH = 100;

export interface SystemRow extends MetricSummary {
  system: string;
  p50Ms: number;
  p99Ms: number;
}

export interface DatasetResult {
  dataset: string;
  documents: number;
  chunks: number;
  ingestSeconds: number;
  rows: SystemRow[];
}

async function runQueries(
  dataset: Dataset,
  system: string,
  search: (text: string) => Promise<string[]> | string[],
): Promise<SystemRow> {
  const latencies: number[] = [];
  const runs: { ranked: string[]; judged: ReadonlyMap<string, number> }[] = [];
  for (const query of dataset.queries) {
    const started = performance.now();
    const ranked = await search(query.text);
    latencies.push(performance.now() - started);
    runs.push({ ranked, judged: dataset.qrels.get(query.id) ?? new Map() });
  }
  return {
    system,
    ...summarize(runs),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** The FTS5 BM25 reference row for a dataset. */
export function baselineRow(dataset: Dataset): Promise<SystemRow> {
  const baseline = new Bm25Baseline(dataset.documents);
  return runQueries(dataset, "FTS5 BM25 baseline", (text) =>
    baseline.search(text, RUN_DEPTH),
  ).finally(() => baseline.close());
}

/** Ingests the dataset into the target, runs every query per mode and scores the runs. */
export async function evaluateDataset(
  dataset: Dataset,
  target: SearchTarget,
  modes: readonly SearchMode[],
  options: { baseline?: boolean } = {},
): Promise<DatasetResult> {
  const started = performance.now();
  const { chunks } = await target.ingest(dataset.documents);
  const ingestSeconds = (performance.now() - started) / 1000;
  const rows: SystemRow[] = [];
  if (options.baseline ?? true) rows.push(await baselineRow(dataset));
  for (const mode of modes) {
    rows.push(await runQueries(dataset, mode, (text) => target.search(text, mode, RUN_DEPTH)));
  }
  return {
    dataset: dataset.name,
    documents: dataset.documents.length,
    chunks,
    ingestSeconds,
    rows,
  };
}
