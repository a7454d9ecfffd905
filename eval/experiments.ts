import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { EmbedderRegistry } from "../src/embed/embedder-registry.ts";
import { STOP_WORDS } from "../src/embed/text-analysis.ts";
import { DEFAULT_BM25 } from "../src/search/bm25.ts";
import type { Rm3Options } from "../src/search/rm3.ts";
import {
  DEFAULT_SEARCH_OPTIONS,
  type SearchMode,
  type SearchOptions,
  SearchService,
} from "../src/search/search-service.ts";
import { SqliteStore, type SqliteStoreOptions } from "../src/store/sqlite/sqlite-store.ts";
import { loadDataset } from "./dataset.ts";
import { baselineRow, RUN_DEPTH, type SystemRow } from "./evaluate.ts";
import { percentile, summarize } from "./metrics.ts";
import { InProcessTarget } from "./targets.ts";

/*
 * tsx eval/experiments.ts <dataset-dir> [--only name,…]: ingests once, then scores named
 * variants of the store's keyword options and the search options against the same index, so
 * every EVAL.md claim about a knob can be re-measured.
 */

interface Variant {
  name: string;
  mode: SearchMode;
  store?: Partial<SqliteStoreOptions>;
  search?: Partial<SearchOptions>;
}

const STOP = { keywordStopWords: STOP_WORDS };
const FB = (documents: number, terms: number, weight: number, keywordWeight = 0) => ({
  documents,
  terms,
  weight,
  keywordWeight,
});
const SHIPPED_FB = DEFAULT_SEARCH_OPTIONS.feedback;
const NO_KWEXP = SHIPPED_FB && { ...SHIPPED_FB, keywordWeight: 0 };
const ANSERINI_BM25 = { k1: 0.9, b: 0.4 };
// RM3 as Anserini sets it (10 docs, 10 terms, λ 0.5), textbook BM25, no proximity; variants
// override from here, so the names below say everything that differs
const RM3 = (overrides: Partial<Rm3Options> = {}, weight = 1) => ({
  documents: 10,
  terms: 10,
  originalWeight: 0.5,
  candidates: 100,
  bm25: DEFAULT_BM25,
  proximity: false,
  ...overrides,
  weight,
});
// the RM3 list alone (keyword and vector lists weighted 0)
const RM3_ALONE = (overrides: Partial<Rm3Options> = {}): Partial<SearchOptions> => ({
  keywordWeight: 0,
  vectorWeight: 0,
  rm3: RM3(overrides),
});
const PROX20 = { terms: 20, proximity: true };
const RM3_VARIANTS: Variant[] = [
  ["rm3 check: JS BM25 re-score, λ 1 (= keyword ranking)", RM3_ALONE({ originalWeight: 1 })],
  ["rm3 keyword alone 10/10/0.5", RM3_ALONE()],
  ["rm3 keyword alone 10/20/0.5", RM3_ALONE({ terms: 20 })],
  ["rm3 keyword alone 10/10/0.6", RM3_ALONE({ originalWeight: 0.6 })],
  ["rm3 keyword alone 10/10/0.5 k1 0.9 b 0.4", RM3_ALONE({ bm25: ANSERINI_BM25 })],
  ["rm3 keyword alone 10/10/0.5, 200 candidates", RM3_ALONE({ candidates: 200 })],
  ["rm3 keyword alone 10/20/0.5, 200 candidates", RM3_ALONE({ terms: 20, candidates: 200 })],
  ["rm3 keyword alone 10/20/0.5, k1 0.9 b 0.4", RM3_ALONE({ terms: 20, bm25: ANSERINI_BM25 })],
  ["rm3p BM25TP alone: λ 1 + proximity", RM3_ALONE({ originalWeight: 1, proximity: true })],
  ["rm3p keyword alone 10/10/0.5 + proximity", RM3_ALONE({ proximity: true })],
  ["rm3p keyword alone 10/20/0.5 + proximity", RM3_ALONE(PROX20)],
  [
    "rm3p keyword alone 10/20/0.5 + proximity, k1 0.9 b 0.4",
    RM3_ALONE({ ...PROX20, bm25: ANSERINI_BM25 }),
  ],
  ["rm3h hybrid: shipped + rm3 10 w1", { feedback: SHIPPED_FB, rm3: RM3() }],
  ["rm3h hybrid: shipped + rm3 10 w2", { feedback: SHIPPED_FB, rm3: RM3({}, 2) }],
  ["rm3h hybrid: shipped + rm3 20 w1", { feedback: SHIPPED_FB, rm3: RM3({ terms: 20 }) }],
  ["rm3h hybrid: shipped + rm3 20 w2", { feedback: SHIPPED_FB, rm3: RM3({ terms: 20 }, 2) }],
  [
    "rm3h hybrid: rm3 10 + PRF vector (kw 0, no kwexp)",
    { keywordWeight: 0, feedback: NO_KWEXP, rm3: RM3() },
  ],
  [
    "rm3h hybrid: rm3 10 w2 + PRF vector (kw 0, no kwexp)",
    { keywordWeight: 0, feedback: NO_KWEXP, rm3: RM3({}, 2) },
  ],
  ["rm3h hybrid: kw + rm3 10 + PRF vector (no kwexp)", { feedback: NO_KWEXP, rm3: RM3() }],
  ["rm3h hybrid: shipped + rm3 10+prox", { feedback: SHIPPED_FB, rm3: RM3({ proximity: true }) }],
  ["rm3h hybrid: shipped + rm3 20+prox (new default)", { feedback: SHIPPED_FB, rm3: RM3(PROX20) }],
  ["rm3h hybrid: shipped + rm3 20+prox w2", { feedback: SHIPPED_FB, rm3: RM3(PROX20, 2) }],
  // cheaper settings: the 20-term expansion search dominates hybrid's cost on large collections
  [
    "speed hybrid: PRF 10 terms + rm3 10+prox",
    { feedback: SHIPPED_FB && { ...SHIPPED_FB, terms: 10 }, rm3: RM3({ proximity: true }) },
  ],
  [
    "speed hybrid: PRF 10 terms, no rm3",
    { feedback: SHIPPED_FB && { ...SHIPPED_FB, terms: 10 }, rm3: null },
  ],
  [
    "speed hybrid: shipped + rm3 20+prox, 50 candidates",
    { feedback: SHIPPED_FB, rm3: RM3({ ...PROX20, candidates: 50 }) },
  ],
  [
    "rm3h hybrid: shipped + rm3 20+prox k1 0.9 b 0.4",
    { feedback: SHIPPED_FB, rm3: RM3({ ...PROX20, bm25: ANSERINI_BM25 }) },
  ],
  [
    "rm3h hybrid: rm3 20+prox + PRF vector (kw 0, no kwexp)",
    { keywordWeight: 0, feedback: NO_KWEXP, rm3: RM3(PROX20) },
  ],
  [
    "rm3h hybrid: rm3 20+prox + PRF vector + kwexp (kw 0)",
    { keywordWeight: 0, feedback: SHIPPED_FB, rm3: RM3(PROX20) },
  ],
  [
    "rm3h hybrid: kw + rm3 20+prox + PRF vector (no kwexp)",
    { feedback: NO_KWEXP, rm3: RM3(PROX20) },
  ],
  [
    "rm3h hybrid: rm3 20+prox + PRF vector, score fusion",
    { keywordWeight: 0, fusion: "score", feedback: NO_KWEXP, rm3: RM3(PROX20) },
  ],
  [
    "rm3h hybrid: rm3 20+prox + PRF vector, rrfK 20",
    { keywordWeight: 0, rrfK: 20, feedback: NO_KWEXP, rm3: RM3(PROX20) },
  ],
].map(([name, search]) => ({
  name: name as string,
  mode: "hybrid",
  store: STOP,
  search: search as Partial<SearchOptions>,
}));
const VARIANTS: Variant[] = [
  ...RM3_VARIANTS,
  {
    name: "hybrid, PRF 10/20/0.5 +kwexp 0.5, kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5, 0.5), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/20/0.5 +kwexp 1, kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5, 1), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/10/0.5 +kwexp 1, kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 10, 0.5, 1), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/20/0.7 kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.7), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/30/0.5 kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 30, 0.5), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/10/0.5 kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 10, 0.5), keywordWeight: 1 },
  },
  {
    name: "hybrid, PRF 10/20/0.5 kw 1.5",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5), keywordWeight: 1.5 },
  },
  {
    name: "hybrid, PRF 20/20/0.5 kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(20, 20, 0.5), keywordWeight: 1 },
  },
  {
    name: "vector-only ranking of PRF (kw 0)",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5), keywordWeight: 0 },
  },
  {
    name: "hybrid, PRF 10 docs 10 terms 0.5",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 10, 0.5), keywordWeight: 2 },
  },
  {
    name: "hybrid, PRF 10 docs 20 terms 0.5",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5), keywordWeight: 2 },
  },
  {
    name: "hybrid, PRF 5 docs 10 terms 0.5",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(5, 10, 0.5), keywordWeight: 2 },
  },
  {
    name: "hybrid, PRF 10 docs 10 terms 0.3",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 10, 0.3), keywordWeight: 2 },
  },
  {
    name: "hybrid, PRF 10 docs 10 terms 0.7",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 10, 0.7), keywordWeight: 2 },
  },
  {
    name: "hybrid, PRF 10/20/0.5 kw 1",
    mode: "hybrid",
    store: STOP,
    search: { feedback: FB(10, 20, 0.5), keywordWeight: 1 },
  },
  {
    name: "hybrid, stop words, IDF, score fusion 1:1",
    mode: "hybrid",
    store: STOP,
    search: { fusion: "score" },
  },
  {
    name: "hybrid, stop words, IDF, score fusion 2:1",
    mode: "hybrid",
    store: STOP,
    search: { fusion: "score", keywordWeight: 2 },
  },
  {
    name: "hybrid, stop words, IDF, score fusion 1.5:1",
    mode: "hybrid",
    store: STOP,
    search: { fusion: "score", keywordWeight: 1.5 },
  },
  {
    name: "hybrid, stop words, IDF, score fusion 3:1",
    mode: "hybrid",
    store: STOP,
    search: { fusion: "score", keywordWeight: 3 },
  },
  { name: "keyword, stop words", mode: "keyword", store: STOP },
  {
    name: "keyword, stop words, title x2",
    mode: "keyword",
    store: { ...STOP, keywordWeights: { title: 2, text: 1 } },
  },
  { name: "keyword, title x2", mode: "keyword", store: { keywordWeights: { title: 2, text: 1 } } },
  { name: "hybrid, stop words, IDF", mode: "hybrid", store: STOP },
  {
    name: "hybrid, previous defaults (stop words, IDF, PRF 10/20/0.5 + expansion keyword list)",
    mode: "hybrid",
    store: STOP,
    search: { feedback: DEFAULT_SEARCH_OPTIONS.feedback },
  },
  {
    name: "hybrid, shipped defaults (previous + RM3 20 terms, proximity)",
    mode: "hybrid",
    store: STOP,
    search: { feedback: DEFAULT_SEARCH_OPTIONS.feedback, rm3: DEFAULT_SEARCH_OPTIONS.rm3 },
  },
  {
    name: "hybrid, stop words, IDF, kw 2",
    mode: "hybrid",
    store: STOP,
    search: { keywordWeight: 2 },
  },
  {
    name: "hybrid, stop words, IDF, kw 3",
    mode: "hybrid",
    store: STOP,
    search: { keywordWeight: 3 },
  },
  {
    name: "hybrid, stop words, IDF, kw 2, rrfK 10",
    mode: "hybrid",
    store: STOP,
    search: { keywordWeight: 2, rrfK: 10 },
  },
  {
    name: "hybrid, stop words, IDF, kw 1.5",
    mode: "hybrid",
    store: STOP,
    search: { keywordWeight: 1.5 },
  },
  { name: "hybrid, stop words, IDF, rrfK 20", mode: "hybrid", store: STOP, search: { rrfK: 20 } },
  { name: "hybrid, stop words, IDF, rrfK 120", mode: "hybrid", store: STOP, search: { rrfK: 120 } },
  {
    name: "hybrid, stop words, IDF, cand 50",
    mode: "hybrid",
    store: STOP,
    search: { candidates: 50 },
  },
  {
    name: "hybrid, stop words, IDF, cand 200",
    mode: "hybrid",
    store: STOP,
    search: { candidates: 200 },
  },
  { name: "keyword, no stop words", mode: "keyword" },
  { name: "vector, no IDF", mode: "vector", search: { queryIdf: false } },
  { name: "vector, query IDF", mode: "vector", search: { queryIdf: true } },
  { name: "hybrid, no IDF", mode: "hybrid", search: { queryIdf: false } },
  { name: "hybrid, query IDF", mode: "hybrid", search: { queryIdf: true } },
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { only: { type: "string" }, dimensions: { type: "string" } },
});
const dataset = loadDataset(positionals[0] ?? "../shared/datasets/cranfield");
const only = values.only?.split(",");
const environment: Record<string, string> = values.dimensions
  ? { GLEANER_LOCAL_EMBEDDING_DIMENSIONS: values.dimensions }
  : {};
const target = new InProcessTarget(environment);
try {
  await target.ingest(dataset.documents);
  await target.stop();
  const rows: SystemRow[] = [await baselineRow(dataset)];
  const config = loadConfig({
    ...environment,
    GLEANER_DATA_DIR: target.dataDir,
    GLEANER_LOG_LEVEL: "silent",
  });
  for (const variant of VARIANTS) {
    if (only && !only.some((name) => variant.name.includes(name))) continue;
    const store = new SqliteStore({
      dataDir: target.dataDir,
      indexSaveIntervalMs: 0,
      ...variant.store,
    });
    await store.open();
    const search = new SearchService(store, new EmbedderRegistry(config), {
      ...DEFAULT_SEARCH_OPTIONS,
      feedback: null,
      rm3: null,
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
    rows.push({
      system: variant.name,
      ...summarize(runs),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
    });
    await store.close();
    const row = rows.at(-1) as SystemRow;
    console.log(
      `${row.system.padEnd(50)} nDCG@10 ${row.ndcg10.toFixed(3)}  R@100 ${row.recall100.toFixed(3)}  MRR@10 ${row.mrr10.toFixed(3)}  MAP@100 ${row.map100.toFixed(3)}  p50 ${row.p50Ms.toFixed(1)} ms  p99 ${row.p99Ms.toFixed(1)} ms`,
    );
  }
} finally {
  await target.close();
}
