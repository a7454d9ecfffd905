import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { EmbedderRegistry } from "../src/embed/embedder-registry.ts";
import { STOP_WORDS } from "../src/embed/text-analysis.ts";
import {
  LOCAL_SEARCH_OPTIONS,
  type SearchMode,
  type SearchOptions,
  SearchService,
} from "../src/search/search-service.ts";
import { SqliteStore, type SqliteStoreOptions } from "../src/store/sqlite/sqlite-store.ts";
import { loadDataset } from "./dataset.ts";
import { baselineRows, RUN_DEPTH, type SystemRow } from "./evaluate.ts";
import { percentile, summarize } from "./metrics.ts";
import { InProcessTarget } from "./targets.ts";

/*
 * tsx eval/experiments.ts <dataset-dir>… [--only name,…] [--repeat N]: ingests each collection
 * once per repeat, then scores named variants (search options, store options) against the same
 * index: the ablations in EVAL.md. Repeats re-ingest, so the HNSW graph (the only
 * non-deterministic part) differs between them: the spread printed is max − min over repeats.
 */

interface Variant {
  name: string;
  mode: SearchMode;
  store?: Partial<SqliteStoreOptions>;
  search?: Partial<SearchOptions>;
}

const SHIPPED = LOCAL_SEARCH_OPTIONS;
const SHIPPED_RM3 = SHIPPED.rm3 as NonNullable<SearchOptions["rm3"]>;
const FEEDBACK = { documents: 10, terms: 20, weight: 0.5, keywordWeight: 1 };

// each row switches one list or knob against the shipped local hybrid (BM25 + RM3)
const VARIANTS: Variant[] = [
  { name: "keyword: BM25 (memory index, qtf)", mode: "keyword" },
  {
    name: "keyword: FTS5 bm25() (old path)",
    mode: "keyword",
    store: { memoryKeywordIndex: false },
  },
  {
    name: "keyword: title weight 2",
    mode: "keyword",
    store: { keywordWeights: { title: 2, text: 1 } },
  },
  { name: "keyword: k1 0.9 b 0.4", mode: "keyword", store: { keywordBm25: { k1: 0.9, b: 0.4 } } },
  { name: "vector (local, query IDF)", mode: "vector" },
  { name: "hybrid shipped: BM25+RM3, terms in >= 2 docs", mode: "hybrid" },
  {
    name: "- min 2 docs (= classic BM25+RM3)",
    mode: "hybrid",
    search: { rm3: { ...SHIPPED_RM3, minDocuments: 1 } },
  },
  {
    name: "- weighted search (RM3 re-scores FTS5 candidates)",
    mode: "hybrid",
    store: { memoryKeywordIndex: false },
  },
  {
    name: "+ RM3 proximity (re-score path)",
    mode: "hybrid",
    search: { rm3: { ...SHIPPED_RM3, proximity: true } },
    store: { memoryKeywordIndex: false },
  },
  { name: "+ keyword list (RRF)", mode: "hybrid", search: { keywordWeight: 1 } },
  {
    name: "+ keyword list (score fusion)",
    mode: "hybrid",
    search: { keywordWeight: 1, fusion: "score" },
  },
  { name: "+ vector list 1", mode: "hybrid", search: { vectorWeight: 1 } },
  { name: "+ vector list 0.25", mode: "hybrid", search: { vectorWeight: 0.25 } },
  {
    name: "+ PRF vector + expansion list",
    mode: "hybrid",
    search: { vectorWeight: 1, feedback: FEEDBACK },
  },
  {
    name: "+ keyword + vector + PRF + expansion (previous default)",
    mode: "hybrid",
    search: { keywordWeight: 1, vectorWeight: 1, feedback: FEEDBACK },
  },
  { name: "RM3 title weight 2", mode: "hybrid", store: { keywordWeights: { title: 2, text: 1 } } },
  { name: "RM3 k1 0.9 b 0.4", mode: "hybrid", store: { keywordBm25: { k1: 0.9, b: 0.4 } } },
  { name: "RM3 λ 0.6", mode: "hybrid", search: { rm3: { ...SHIPPED_RM3, originalWeight: 0.6 } } },
  { name: "RM3 10 terms", mode: "hybrid", search: { rm3: { ...SHIPPED_RM3, terms: 10 } } },
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { only: { type: "string" }, repeat: { type: "string", default: "1" } },
});
const only = values.only?.split(",");
const repeats = Number(values.repeat);
const results = new Map<string, number[]>();

for (const directory of positionals.length > 0 ? positionals : ["../shared/datasets/cranfield"]) {
  const dataset = loadDataset(directory);
  for (let repeat = 0; repeat < repeats; repeat++) {
    const target = new InProcessTarget();
    try {
      await target.ingest(dataset.documents);
      await target.stop();
      const rows: SystemRow[] = repeat === 0 ? await baselineRows(dataset) : [];
      for (const row of rows) report(dataset.name, row);
      const config = loadConfig({ GLEANER_DATA_DIR: target.dataDir, GLEANER_LOG_LEVEL: "silent" });
      for (const variant of VARIANTS) {
        if (only && !only.some((name) => variant.name.includes(name))) continue;
        const store = new SqliteStore({
          dataDir: target.dataDir,
          indexSaveIntervalMs: 0,
          keywordStopWords: STOP_WORDS,
          ...variant.store,
        });
        await store.open();
        // a reopened store builds its keyword index in the background; measure the index
        await store.keywordIndexesReady();
        const search = new SearchService(store, new EmbedderRegistry(config), {
          ...SHIPPED,
          ...variant.search,
        });
        const latencies: number[] = [];
        const runs = [];
        for (const query of dataset.queries) {
          const started = performance.now();
          const response = await search.search({
            collection: target.collection,
            query: query.text,
            k: RUN_DEPTH,
            mode: variant.mode,
          });
          latencies.push(performance.now() - started);
          const ranked = [...new Set(response.hits.map((hit) => hit.documentId))];
          runs.push({ ranked, judged: dataset.qrels.get(query.id) ?? new Map() });
        }
        await store.close();
        report(dataset.name, {
          system: variant.name,
          ...summarize(runs),
          p50Ms: percentile(latencies, 0.5),
          p99Ms: percentile(latencies, 0.99),
        });
      }
    } finally {
      await target.close();
    }
  }
}

function report(dataset: string, row: SystemRow): void {
  const key = `${dataset}\t${row.system}`;
  results.set(key, [...(results.get(key) ?? []), row.ndcg10]);
  console.log(
    `${dataset.padEnd(10)} ${row.system.padEnd(56)} nDCG@10 ${row.ndcg10.toFixed(3)}  R@100 ${row.recall100.toFixed(3)}  MRR@10 ${row.mrr10.toFixed(3)}  p50 ${row.p50Ms.toFixed(1)} ms`,
  );
}

console.log(
  "\n| dataset | system | nDCG@10 (mean of runs) | spread (max − min) |\n| --- | --- | ---: | ---: |",
);
for (const [key, scores] of results) {
  const [dataset, system] = key.split("\t");
  const mean = scores.reduce((sum, score) => sum + score, 0) / scores.length;
  const spread = Math.max(...scores) - Math.min(...scores);
  console.log(
    `| ${dataset} | ${system} | ${mean.toFixed(3)} | ${scores.length > 1 ? spread.toFixed(3) : "–"} |`,
  );
}
