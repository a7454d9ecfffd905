import { STOP_WORDS } from "../src/embed/text-analysis.ts";
import { DEFAULT_RM3 } from "../src/search/rm3.ts";
import {
  LOCAL_SEARCH_OPTIONS,
  type SearchMode,
  type SearchOptions,
} from "../src/search/search-service.ts";
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

/** An FTS5 BM25 reference row for a dataset, with or without a stop-word list. */
export function baselineRow(dataset: Dataset, stopWords?: ReadonlySet<string>): Promise<SystemRow> {
  const baseline = new Bm25Baseline(dataset.documents, stopWords);
  const name = stopWords ? "FTS5 bm25 + stop words" : "FTS5 BM25 baseline";
  return runQueries(dataset, name, (text) => baseline.search(text, RUN_DEPTH)).finally(() =>
    baseline.close(),
  );
}

/** Both reference rows: plain FTS5 bm25() and the same with the stop-word list. */
export async function baselineRows(dataset: Dataset): Promise<SystemRow[]> {
  return [await baselineRow(dataset), await baselineRow(dataset, STOP_WORDS)];
}

/**
 * The BM25+RM3 reference row: Gleaner's BM25 first pass, RM3 as Anserini sets it up (10 feedback
 * documents, λ 0.5; 20 terms, any term) ranked over the whole collection, nothing fused.
 */
export const BM25_RM3: SearchOptions = {
  ...LOCAL_SEARCH_OPTIONS,
  keywordWeight: 0,
  vectorWeight: 0,
  feedback: null,
  rm3: { ...DEFAULT_RM3, proximity: false, minDocuments: 1, weight: 1 },
};

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
  if (options.baseline ?? true) rows.push(...(await baselineRows(dataset)));
  const { searchWithOptions } = target;
  if ((options.baseline ?? true) && searchWithOptions) {
    rows.push(
      await runQueries(dataset, "BM25+RM3", (text) =>
        searchWithOptions.call(target, text, BM25_RM3, RUN_DEPTH),
      ),
    );
  }
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
