// Section 6 of `npm run bench` (`--only=postgres`), or on its own:
// npx tsx bench/postgres.ts [--n=10000] [--queries=300] [--http-chunks=3000] [--url=postgres://…] [--write]
// pgvector HNSW (through PostgresStore, over the wire) beside hnswlib-node on the same vectors,
// then HTTP search through a Gleaner replica whose store is that PostgreSQL.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import hnswlib from "hnswlib-node";
import pg from "pg";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import { fmt, log, machineInfo, percentile, table } from "./common.ts";
import { buildSearchCorpus } from "./corpus-store.ts";
import { freshStoreDir } from "./gleaner-store.ts";
import { httpMarkdown, runHttp } from "./http.ts";
import { createLocalCollection } from "./ingest.ts";
import { DIMENSIONS, K, loadDataset, row } from "./vectors.ts";

export interface PostgresBenchOptions {
  n: number;
  queries: number;
  /** Chunks of the collection the replica serves over HTTP (0: no HTTP rows). */
  httpChunks: number;
  httpSeconds: number;
  /** An existing server; absent, PGlite is started in a child process. */
  url?: string | undefined;
}

const EFS = [20, 40, 80, 160];
const CHUNKS_PER_DOCUMENT = 1_000;
const HNSW = { m: 16, efConstruction: 64 };

interface Point {
  ef: number;
  recall: number;
  qps: number;
  p50Ms: number;
}

/** PGlite on 127.0.0.1 in its own process; resolves with its URL once it listens. */
async function startPgliteChild(): Promise<{ child: ChildProcess; url: string }> {
  const script = fileURLToPath(new URL("./pglite-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    return { child, url: (JSON.parse(line) as { url: string }).url };
  }
  throw new Error("bench: the PGlite child exited before listening");
}

function recall(truth: Int32Array, found: number[][]): number {
  let hits = 0;
  found.forEach((ids, qi) => {
    const expected = new Set(truth.subarray(qi * K, (qi + 1) * K));
    for (const id of ids.slice(0, K)) if (expected.has(id)) hits++;
  });
  return hits / (found.length * K);
}

async function measure(
  ef: number,
  search: (qi: number) => Promise<number[]> | number[],
  truth: Int32Array,
  queryCount: number,
): Promise<Point> {
  const found: number[][] = [];
  const latencies: number[] = [];
  const started = performance.now();
  for (let qi = 0; qi < queryCount; qi++) {
    const t = performance.now();
    found.push(await search(qi));
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ef,
    recall: recall(truth, found),
    qps: queryCount / seconds,
    p50Ms: percentile(latencies, 0.5),
  };
}

/** Runs the PostgreSQL section; resolves with its Markdown and headline. */
export async function runPostgresBench(
  options: PostgresBenchOptions,
): Promise<{ markdown: string; headline: string }> {
  const { n: N, queries: QUERY_COUNT } = options;
  const dataset = loadDataset(N);
  const truth = dataset.truth.subarray(0, QUERY_COUNT * K);

  log(`hnswlib-node: building ${N} vectors (M=${HNSW.m}, efConstruction=${HNSW.efConstruction})`);
  const index = new hnswlib.HierarchicalNSW("ip", DIMENSIONS);
  index.initIndex({
    maxElements: N,
    m: HNSW.m,
    efConstruction: HNSW.efConstruction,
    randomSeed: 100,
  });
  const scratch = new Array<number>(DIMENSIONS).fill(0);
  let started = performance.now();
  for (let i = 0; i < N; i++) {
    const vector = row(dataset.base, i);
    for (let d = 0; d < DIMENSIONS; d++) scratch[d] = vector[d] as number;
    index.addPoint(scratch, i);
  }
  const hnswInsertsPerS = N / ((performance.now() - started) / 1000);
  const queries = Array.from({ length: QUERY_COUNT }, (_, qi) =>
    Array.from(row(dataset.queries, qi)),
  );
  const raw: Point[] = [];
  for (const ef of EFS) {
    index.setEf(ef);
    raw.push(
      await measure(
        ef,
        (qi) => index.searchKnn(queries[qi] as number[], K).neighbors,
        truth,
        QUERY_COUNT,
      ),
    );
  }

  const pglite = options.url ? null : await startPgliteChild();
  const url = options.url ?? (pglite as { url: string }).url;
  const store = new PostgresStore({ connectionString: url, poolSize: 2, hnsw: HNSW });
  await store.open();
  const name = `bench-${Date.now()}`;
  await store.createCollection({
    name,
    description: "bench vectors",
    embedding: { provider: "local", model: "bench-vectors", dimensions: DIMENSIONS },
    chunking: { maxTokens: 256, overlapTokens: 32 },
  });
  log(`pgvector: committing ${N} vectors through PostgresStore (index maintained on insert)`);
  started = performance.now();
  for (let first = 0, doc = 0; first < N; first += CHUNKS_PER_DOCUMENT, doc++) {
    const last = Math.min(N, first + CHUNKS_PER_DOCUMENT);
    const payload = new TextEncoder().encode(`doc ${doc}`);
    const { jobId } = await store.enqueueIngest({
      collection: name,
      documentId: `d${String(doc).padStart(6, "0")}`,
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: payload.length, sha256: `${doc}` },
      payload,
    });
    await store.claimNextJob();
    await store.commitIngest({
      jobId: jobId as number,
      collection: name,
      documentId: `d${String(doc).padStart(6, "0")}`,
      title: null,
      pageCount: null,
      tokenCount: 0,
      embeddingTokens: 0,
      chunks: Array.from({ length: last - first }, (_, i) => ({
        text: `chunk ${first + i}`,
        charStart: 0,
        charEnd: 1,
        pageStart: null,
        pageEnd: null,
        tokenCount: 1,
        vector: row(dataset.base, first + i),
      })),
    });
    log(`pgvector: ${last} committed`);
  }
  const pgInsertsPerS = N / ((performance.now() - started) / 1000);
  // chunk id → dataset row, from each chunk's document and ordinal
  const chunkToRow = new Map<number, number>();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ low: string; high: string }>(
    "SELECT min(ch.id) AS low, max(ch.id) AS high FROM chunks ch JOIN collections c ON c.id = ch.collection_id WHERE c.name = $1",
    [name],
  );
  await client.end();
  const low = Number(rows[0]?.low);
  const high = Number(rows[0]?.high);
  for (let from = low; from <= high; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, high - from + 1) }, (_, i) => from + i);
    for (const chunk of await store.getChunks(batch)) {
      const doc = Number(chunk.documentId.slice(1));
      chunkToRow.set(chunk.chunkId, doc * CHUNKS_PER_DOCUMENT + chunk.ordinal);
    }
  }
  const pgPoints: Point[] = [];
  for (const ef of EFS) {
    pgPoints.push(
      await measure(
        ef,
        async (qi) =>
          (
            await store.vectorSearch({
              collection: name,
              vector: row(dataset.queries, qi),
              k: K,
              ef,
            })
          ).map((hit) => chunkToRow.get(hit.chunkId) ?? -1),
        truth,
        QUERY_COUNT,
      ),
    );
  }
  await store.deleteCollection(name);

  // HTTP through a replica: a Gleaner server process whose only state is this database
  let httpSection: string[] = [];
  let httpHeadline = "";
  if (options.httpChunks > 0) {
    log(`pgvector: search corpus of ${options.httpChunks} chunks for the replica`);
    await createLocalCollection(store, "synthetic");
    const corpus = await buildSearchCorpus(store, "synthetic", options.httpChunks);
    const rows = await runHttp(freshStoreDir("replica"), "synthetic", options.httpSeconds, {
      env: { GLEANER_DATABASE_URL: url },
      connections: [10],
    });
    await store.deleteCollection("synthetic");
    const hybrid = rows.find((r) => r.target === "search hybrid");
    httpHeadline = hybrid
      ? ` HTTP hybrid search through a replica (${fmt(options.httpChunks)} chunks, 10 connections): ${fmt(hybrid.requestsPerSecond)} req/s, p50 ${fmt(hybrid.p50, 1)} ms, p99 ${fmt(hybrid.p99, 1)} ms, ${hybrid.errors + hybrid.non2xx} errors.`
      : "";
    httpSection = [
      `HTTP through a replica: \`gleaner\` server process with \`GLEANER_DATABASE_URL\` set (no local state), ` +
        `${fmt(corpus.chunks)} synthetic chunks filled at ${fmt(corpus.chunks / corpus.seconds)} chunks/s through PostgresStore, ` +
        `autocannon ${options.httpSeconds} s per row on loopback, k=10; the bare route is served by the same process.`,
      "",
      httpMarkdown(rows),
      "",
    ];
  }
  await store.close();
  pglite?.child.kill("SIGTERM");

  const machine = machineInfo();
  const markdown = [
    "",
    `#### PostgreSQL + pgvector beside hnswlib-node (${new Date().toISOString().slice(0, 10)})`,
    "",
    `N = ${fmt(N)}: ` +
      `${fmt(N)} seeded ${DIMENSIONS}-d unit vectors (bench/vectors.ts), ${QUERY_COUNT} held-out queries, ` +
      `recall@${K} against exact top-${K}; both HNSW graphs M=${HNSW.m}, efConstruction=${HNSW.efConstruction}. ` +
      `Node ${machine.node}, ${machine.cores} cores. PostgreSQL: ${options.url ? "the given server" : "PGlite (PostgreSQL 18 compiled to WASM, one session, pgvector 0.8.7) over the wire protocol on 127.0.0.1"}; ` +
      "queries go through `PostgresStore.vectorSearch` (pool, transaction, `hnsw.ef_search`), one at a time.",
    "",
    table(
      ["ef", "hnswlib recall", "hnswlib q/s", "pgvector recall", "pgvector q/s", "pgvector p50 ms"],
      EFS.map((ef, i) => [
        ef,
        (raw[i] as Point).recall.toFixed(4),
        fmt((raw[i] as Point).qps),
        (pgPoints[i] as Point).recall.toFixed(4),
        fmt((pgPoints[i] as Point).qps, 1),
        fmt((pgPoints[i] as Point).p50Ms, 2),
      ]),
    ),
    "",
    `Inserts: hnswlib-node ${fmt(hnswInsertsPerS)} vectors/s (addPoint only); PostgresStore ` +
      `${fmt(pgInsertsPerS)} chunks/s through enqueue → claim → commitIngest (rows, tsvector, HNSW index maintained on insert).`,
    options.url
      ? ""
      : "PGlite runs PostgreSQL single-threaded in WebAssembly (in a child process), so its absolute " +
        "numbers are far below a native PostgreSQL server; recall is what carries over.",
    "",
    ...httpSection,
  ].join("\n");
  const best = pgPoints.find((point) => point.recall >= 0.95) ?? pgPoints.at(-1);
  const headline =
    `PostgreSQL (PGlite) N=${fmt(N)}: pgvector HNSW recall@10 ${best?.recall.toFixed(3)} at ${fmt(best?.qps ?? 0, 1)} q/s (ef=${best?.ef}), ` +
    `ingest ${fmt(pgInsertsPerS)} chunks/s.${httpHeadline}`;
  return { markdown, headline };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name: string) =>
    args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const { markdown } = await runPostgresBench({
    n: Number(option("n") ?? 10_000),
    queries: Number(option("queries") ?? 300),
    httpChunks: Number(option("http-chunks") ?? 3_000),
    httpSeconds: Number(option("http-seconds") ?? 5),
    url: option("url"),
  });
  process.stdout.write(markdown);
  if (args.includes("--write")) {
    appendFileSync(fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url)), markdown);
  }
}
