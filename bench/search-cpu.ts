// CPU per search in-process, per mode: tsx bench/search-cpu.ts <dataDir> [collection] [queries]
// The keyword index is built (first search) and one warm-up pass runs before the timed pass.

import { pino } from "pino";
import { createRuntime } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config.ts";
import type { SearchMode } from "../src/search/search-service.ts";
import { syntheticQueries } from "./corpus.ts";

const [dataDir, collection = "synthetic", count = "300"] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: search-cpu.ts <dataDir> [collection] [queries]");
const config = loadConfig({ GLEANER_DATA_DIR: dataDir, GLEANER_LOG_LEVEL: "silent" });
const runtime = createRuntime(config, { logger: pino({ level: "silent" }) });
await runtime.services.store.open();
const { search } = runtime.services;
const queries = syntheticQueries(Number(count));
const cpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
let started = cpu();
await search.search({ collection, query: queries[0] as string, k: 10, mode: "keyword" });
process.stdout.write(
  `keyword index build (first search): ${(cpu() - started).toFixed(0)} ms CPU\n`,
);
for (const mode of ["keyword", "vector", "hybrid"] as SearchMode[]) {
  for (const pass of [0, 1]) {
    const samples: number[] = [];
    for (const query of queries) {
      started = cpu();
      await search.search({ collection, query, k: 10, mode });
      samples.push(cpu() - started);
    }
    if (pass === 1) {
      samples.sort((a, b) => a - b);
      const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
      const p99 = samples[Math.floor(samples.length * 0.99)] ?? Number.NaN;
      process.stdout.write(
        `${mode.padEnd(8)} mean ${mean.toFixed(3)} ms CPU, p50 ${samples[samples.length >> 1]?.toFixed(3)}, p99 ${p99.toFixed(3)} (${queries.length} queries)\n`,
      );
    }
  }
}
await runtime.services.store.close();
