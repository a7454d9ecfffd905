// Run in a fresh process: opens a bench store and prints how long start-up took, as JSON.
import { createHash } from "node:crypto";
import { createReadStream, readdirSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: startup-child.ts <dataDir>");
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const store = new SqliteStore({ dataDir, indexSaveIntervalMs: 0 });
await store.open();
const openMs = performance.now() - started;
const rssAfter = process.memoryUsage().rss;
const reports = store.indexLoadReports;
await store.close();

// the integrity check on its own: SHA-256 of the index file, as HnswIndex.load does it
let shaMs = 0;
let shaBytes = 0;
for (const file of readdirSync(join(dataDir, "indexes"))) {
  if (!file.endsWith(".hnsw")) continue;
  const t = performance.now();
  const hash = createHash("sha256");
  for await (const piece of createReadStream(join(dataDir, "indexes", file), {
    highWaterMark: 4 * 1024 * 1024,
  })) {
    hash.update(piece as Buffer);
    shaBytes += (piece as Buffer).length;
  }
  hash.digest();
  shaMs += performance.now() - t;
}
process.stdout.write(
  `${JSON.stringify({
    openMs,
    rssBeforeMb: rssBefore / 2 ** 20,
    rssAfterMb: rssAfter / 2 ** 20,
    reports,
    shaMs,
    shaBytes,
  })}\n`,
);
