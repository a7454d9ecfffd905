// Profiles the server answering search requests: tsx bench/profile-http.ts <dataDir> <collection> <mode> [requests]
// Writes a .cpuprofile of the server process under bench/.cache/profiles and prints its top self time
// (native calls such as hnswlib's searchKnn are counted in the JS function that calls them).
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cacheDir } from "./common.ts";
import { syntheticQueries } from "./corpus.ts";
import { topSelfTime } from "./profile-summary.ts";

const [dataDir, collection = "synthetic", mode = "hybrid", count = "500"] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: profile-http.ts <dataDir> [collection] [mode] [requests]");
const directory = cacheDir("profiles", `http-${mode}-${Date.now()}`);
const server = fileURLToPath(new URL("./http-server.ts", import.meta.url));
const child = spawn(
  process.execPath,
  ["--cpu-prof", `--cpu-prof-dir=${directory}`, "--import", "tsx", server, dataDir],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let port = 0;
for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
  port = (JSON.parse(line) as { port: number }).port;
  break;
}
const queries = syntheticQueries(500);
const started = performance.now();
for (let i = 0; i < Number(count); i++) {
  const response = await fetch(`http://127.0.0.1:${port}/v1/collections/${collection}/search`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: queries[i % queries.length], k: 10, mode }),
  });
  await response.arrayBuffer();
}
const perRequest = (performance.now() - started) / Number(count);
child.kill("SIGTERM");
await new Promise((resolve) => child.once("exit", resolve));
const profiles = readdirSync(directory)
  .map((file) => join(directory, file))
  .sort((a, b) => statSync(b).size - statSync(a).size);
process.stdout.write(
  `${mode}: ${perRequest.toFixed(2)} ms per sequential request; profile ${profiles[0]}\n`,
);
if (profiles[0]) process.stdout.write(`${topSelfTime(profiles[0], 25).join("\n")}\n`);
