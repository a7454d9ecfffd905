// Times the steps of one hybrid search in-process (no HTTP): tsx bench/search-phases.ts <dataDir> [collection] [queries]
// CPU per step, averaged over the synthetic queries, after one warm-up pass.
import { loadConfig } from "../src/config.ts";
import { EmbedderRegistry } from "../src/embed/embedder-registry.ts";
import { STOP_WORDS } from "../src/embed/text-analysis.ts";
import { expansionTerms } from "../src/search/feedback.ts";
import { queryTermWeights } from "../src/search/query-weights.ts";
import { DEFAULT_SEARCH_OPTIONS, SearchService } from "../src/search/search-service.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { syntheticQueries } from "./corpus.ts";

const [dataDir, collection = "synthetic", count = "300"] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: search-phases.ts <dataDir> [collection] [queries]");
const store = new SqliteStore({ dataDir, indexSaveIntervalMs: 0, keywordStopWords: STOP_WORDS });
await store.open();
const config = loadConfig({ GLEANER_LOG_LEVEL: "silent" });
const embedders = new EmbedderRegistry(config);
const service = new SearchService(store, embedders);
const queries = syntheticQueries(Number(count));
const feedback = DEFAULT_SEARCH_OPTIONS.feedback as NonNullable<
  typeof DEFAULT_SEARCH_OPTIONS.feedback
>;
const record = await store.getCollection(collection);
if (!record) throw new Error(`no collection ${collection}`);
const model = embedders.modelFor(record.embedding);

const totals = new Map<string, number>();
const cpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
async function step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = cpu();
  const result = await fn();
  totals.set(name, (totals.get(name) ?? 0) + cpu() - started);
  return result;
}
for (const pass of [0, 1]) {
  totals.clear();
  for (const query of queries) {
    await step("getCollection", () => store.getCollection(collection));
    const keyword = await step("keywordSearch(query, 100)", () =>
      store.keywordSearch({ collection, text: query, k: 100 }),
    );
    const expansion = await step("expansionTerms", () =>
      expansionTerms(store, collection, keyword, feedback),
    );
    const weights = await step("queryTermWeights", () =>
      queryTermWeights(store, collection, query),
    );
    const vector = await step("embed query", () =>
      "embedWeightedQuery" in model && weights
        ? (
            model as { embedWeightedQuery(t: string, w: (t: string) => number): Float32Array }
          ).embedWeightedQuery(query, weights)
        : new Float32Array(record.embedding.dimensions),
    );
    await step("vectorSearch(100)", () => store.vectorSearch({ collection, vector, k: 100 }));
    await step("keywordSearch(expansion, 100)", () =>
      store.keywordSearch({ collection, text: [...expansion.keys()].join(" "), k: 100 }),
    );
    const ids = keyword.slice(0, 10).map((r) => r.chunkId);
    await step("getChunks(10)", () => store.getChunks(ids));
    await step("SearchService hybrid (whole)", () =>
      service.search({ collection, query, k: 10, mode: "hybrid" }),
    );
    await step("SearchService keyword (whole)", () =>
      service.search({ collection, query, k: 10, mode: "keyword" }),
    );
    await step("SearchService vector (whole)", () =>
      service.search({ collection, query, k: 10, mode: "vector" }),
    );
  }
  if (pass === 1) {
    for (const [name, ms] of totals) {
      process.stdout.write(`${name.padEnd(32)} ${(ms / queries.length).toFixed(3)} ms CPU\n`);
    }
  }
}
await store.close();
