// Section 6 of `npm run bench` (`--only=postgres`), or on its own:
// npx tsx bench/postgres.ts [--n=10000] [--queries=300] [--http-chunks=5000] [--http-seconds=5] [--url=postgres://…] [--write]
// The same seeded vectors through raw hnswlib-node, Gleaner's SQLite store and PostgresStore on a
// real PostgreSQL + pgvector; then HTTP search through one SQLite process and through one and two
// replicas sharing that PostgreSQL. The server is --url, else GLEANER_TEST_DATABASE_URL, else a
// throw-away one from scripts/postgres-test-server.sh (PGlite only when none can be had, and said).
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import hnswlib from "hnswlib-node";
import pg from "pg";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import type { Store } from "../src/store/store.ts";
import { fmt, log, machineInfo, percentile, table } from "./common.ts";
import { buildSearchCorpus } from "./corpus-store.ts";
import { freshStoreDir, loadVectorsThroughCommit, openStore } from "./gleaner-store.ts";
import { type HttpRow, httpMarkdown, runHttp } from "./http.ts";
import { createLocalCollection } from "./ingest.ts";
import { DIMENSIONS, K, loadDataset, row } from "./vectors.ts";

export interface PostgresBenchOptions {
  n: number;
  queries: number;
  /** Chunks of the collection served over HTTP (0: no HTTP rows). */
  httpChunks: number;
  httpSeconds: number;
  /** An existing server; absent, GLEANER_TEST_DATABASE_URL or a throw-away one is used. */
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

interface Server {
  url: string;
  /** "real": a PostgreSQL server process; "pglite": the WebAssembly fallback. */
  kind: "real" | "pglite";
  stop(): void;
}

/** The first line a child prints on stdout, or null when it exits first. */
async function firstLine(child: ChildProcess): Promise<string | null> {
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    return line;
  }
  return null;
}

/** The server to measure: the given URL, the test server's, a throw-away one, or PGlite. */
async function postgresServer(given: string | undefined): Promise<Server> {
  const url = given ?? process.env.GLEANER_TEST_DATABASE_URL;
  if (url) return { url, kind: "real", stop: () => undefined };
  const script = fileURLToPath(new URL("../scripts/postgres-test-server.sh", import.meta.url));
  log("PostgreSQL: starting a throw-away server (scripts/postgres-test-server.sh)");
  const server = spawn(script, [], { stdio: ["ignore", "pipe", "inherit"] });
  const started = await firstLine(server);
  if (started?.startsWith("postgres://")) {
    return { url: started, kind: "real", stop: () => server.kill("SIGTERM") };
  }
  log("PostgreSQL: no real server could be had; measuring PGlite instead");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./pglite-child.ts", import.meta.url))],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await firstLine(child);
  if (!line) throw new Error("bench: the PGlite child exited before listening");
  return {
    url: (JSON.parse(line) as { url: string }).url,
    kind: "pglite",
    stop: () => child.kill("SIGTERM"),
  };
}

/** Version and the settings that move the numbers, as the server reports them. */
async function serverFacts(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const show = async (setting: string) =>
    (await client.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]?.[setting] ?? "?";
  const version = await show("server_version");
  const { rows } = await client.query<{ extversion: string }>(
    "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
  );
  const settings = await Promise.all(
    ["fsync", "synchronous_commit", "shared_buffers", "max_parallel_workers_per_gather"].map(
      async (name) => `${name}=${await show(name)}`,
    ),
  );
  await client.end();
  return `PostgreSQL ${version.split(" ")[0]}, pgvector ${rows[0]?.extversion ?? "?"} (${settings.join(", ")})`;
}

function recall(truth: Int32Array, found: number[][]): number {
  let hits = 0;
  found.forEach((ids, qi) => {
    const expected = new Set(truth.subarray(qi * K, (qi + 1) * K));
    for (const id of ids.slice(0, K)) if (expected.has(id)) hits++;
  });
  return hits / (found.length * K);
}

/** Times queries one at a time; `toRows` maps found ids to dataset rows afterwards, untimed. */
async function measure(
  ef: number,
  search: (qi: number) => Promise<number[]> | number[],
  truth: Int32Array,
  queryCount: number,
  toRows: (ids: number[][]) => Promise<number[][]> = async (ids) => ids,
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
    recall: recall(truth, await toRows(found)),
    qps: queryCount / seconds,
    p50Ms: percentile(latencies, 0.5),
  };
}

/** Chunk ids → dataset rows, from each chunk's document (`doc-N`) and ordinal. */
function chunkRows(store: Store): (ids: number[][]) => Promise<number[][]> {
  return async (ids) => {
    const chunks = await store.getChunks([...new Set(ids.flat())]);
    const rowOf = new Map(
      chunks.map((chunk) => [
        chunk.chunkId,
        Number(chunk.documentId.slice(4)) * CHUNKS_PER_DOCUMENT + chunk.ordinal,
      ]),
    );
    return ids.map((list) => list.map((id) => rowOf.get(id) ?? -1));
  };
}

/** Loads the vectors through a store's commit path and measures its vector search at each ef. */
async function storeVectors(
  store: Store,
  collection: string,
  base: Float32Array,
  queries: Float32Array,
  truth: Int32Array,
  queryCount: number,
): Promise<{ chunksPerSecond: number; points: Point[] }> {
  const ms = await loadVectorsThroughCommit(
    store,
    base,
    (done) => {
      if (done % 5_000 === 0) log(`${collection}: ${done} committed`);
    },
    collection,
  );
  const points: Point[] = [];
  for (const ef of EFS) {
    points.push(
      await measure(
        ef,
        async (qi) =>
          (await store.vectorSearch({ collection, vector: row(queries, qi), k: K, ef })).map(
            (hit) => hit.chunkId,
          ),
        truth,
        queryCount,
        chunkRows(store),
      ),
    );
  }
  return { chunksPerSecond: base.length / DIMENSIONS / (ms / 1000), points };
}

function rawHnswlib(base: Float32Array, queries: number[][], n: number) {
  log(`hnswlib-node: building ${n} vectors (M=${HNSW.m}, efConstruction=${HNSW.efConstruction})`);
  const index = new hnswlib.HierarchicalNSW("ip", DIMENSIONS);
  index.initIndex({
    maxElements: n,
    m: HNSW.m,
    efConstruction: HNSW.efConstruction,
    randomSeed: 100,
  });
  const scratch = new Array<number>(DIMENSIONS).fill(0);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const vector = row(base, i);
    for (let d = 0; d < DIMENSIONS; d++) scratch[d] = vector[d] as number;
    index.addPoint(scratch, i);
  }
  return {
    insertsPerSecond: n / ((performance.now() - started) / 1000),
    search: (ef: number) => {
      index.setEf(ef);
      return (qi: number) => index.searchKnn(queries[qi] as number[], K).neighbors;
    },
  };
}

interface HttpSetup {
  label: string;
  rows: HttpRow[];
}

const hybridOf = (setup: HttpSetup) =>
  setup.rows.find((r) => r.target === "search hybrid" && r.connections === 10);

/** HTTP search on the same synthetic corpus: one SQLite process, one and two PostgreSQL replicas. */
async function httpSetups(
  pgStore: PostgresStore,
  url: string,
  chunks: number,
  seconds: number,
): Promise<{ setups: HttpSetup[]; corpusNote: string }> {
  log(`SQLite: search corpus of ${chunks} chunks`);
  const sqliteDir = freshStoreDir("postgres-bench-sqlite");
  const sqlite = await openStore(sqliteDir);
  await createLocalCollection(sqlite, "synthetic");
  const sqliteCorpus = await buildSearchCorpus(sqlite, "synthetic", chunks);
  await sqlite.close();
  log(`PostgreSQL: search corpus of ${chunks} chunks`);
  await createLocalCollection(pgStore, "synthetic");
  const pgCorpus = await buildSearchCorpus(pgStore, "synthetic", chunks);
  const setups: HttpSetup[] = [];
  const options = { connections: [10] };
  setups.push({
    label: "SQLite + hnswlib, one process",
    rows: await runHttp(sqliteDir, "synthetic", seconds, options),
  });
  for (const replicas of [1, 2]) {
    setups.push({
      label: `PostgreSQL, ${replicas} replica${replicas > 1 ? "s (load spread round-robin)" : ""}`,
      rows: await runHttp(freshStoreDir(`postgres-replica-${replicas}`), "synthetic", seconds, {
        ...options,
        env: { GLEANER_DATABASE_URL: url },
        replicas,
      }),
    });
  }
  await pgStore.deleteCollection("synthetic");
  const corpusNote =
    `${fmt(pgCorpus.chunks)} synthetic chunks (local embedder), filled through commitIngest at ` +
    `${fmt(sqliteCorpus.chunks / sqliteCorpus.seconds)} chunks/s (SQLite) and ` +
    `${fmt(pgCorpus.chunks / pgCorpus.seconds)} chunks/s (PostgreSQL), embedding included`;
  return { setups, corpusNote };
}

/** Runs the PostgreSQL section; resolves with its Markdown and headline. */
export async function runPostgresBench(
  options: PostgresBenchOptions,
): Promise<{ markdown: string; headline: string }> {
  const { n: N, queries: QUERY_COUNT } = options;
  const dataset = loadDataset(N);
  const truth = dataset.truth.subarray(0, QUERY_COUNT * K);
  const queryArrays = Array.from({ length: QUERY_COUNT }, (_, qi) =>
    Array.from(row(dataset.queries, qi)),
  );

  const hnsw = rawHnswlib(dataset.base, queryArrays, N);
  const raw: Point[] = [];
  for (const ef of EFS) raw.push(await measure(ef, hnsw.search(ef), truth, QUERY_COUNT));

  log(`SQLite store: committing ${N} vectors`);
  const sqlite = await openStore(freshStoreDir("postgres-bench-vectors"));
  const sqliteResult = await storeVectors(
    sqlite,
    "bench",
    dataset.base,
    dataset.queries,
    truth,
    QUERY_COUNT,
  );
  await sqlite.close();

  const server = await postgresServer(options.url);
  let markdown: string;
  let headline: string;
  try {
    const facts =
      server.kind === "real" ? await serverFacts(server.url) : "PGlite (WebAssembly, one session)";
    const store = new PostgresStore({ connectionString: server.url, poolSize: 2, hnsw: HNSW });
    await store.open();
    const name = `bench-${Date.now()}`;
    log(`PostgreSQL: committing ${N} vectors through PostgresStore (index maintained on insert)`);
    const pgResult = await storeVectors(
      store,
      name,
      dataset.base,
      dataset.queries,
      truth,
      QUERY_COUNT,
    );
    await store.deleteCollection(name);
    const http =
      options.httpChunks > 0
        ? await httpSetups(store, server.url, options.httpChunks, options.httpSeconds)
        : null;
    await store.close();

    const machine = machineInfo();
    markdown = [
      "",
      `#### PostgreSQL + pgvector beside SQLite + hnswlib (${new Date().toISOString().slice(0, 10)})`,
      "",
      `Server: ${facts}, on 127.0.0.1 of the same machine (${machine.cpu}, ${machine.cores} cores, ` +
        `${machine.memoryGb} GiB, shared with other work), Node ${machine.node}.` +
        (server.kind === "real" && !options.url && !process.env.GLEANER_TEST_DATABASE_URL
          ? " Started by scripts/postgres-test-server.sh (a throw-away cluster: fsync off)."
          : ""),
      "",
      `N = ${fmt(N)} seeded ${DIMENSIONS}-d unit vectors (bench/vectors.ts), ${QUERY_COUNT} held-out queries, ` +
        `recall@${K} against exact top-${K}; every HNSW graph M=${HNSW.m}, efConstruction=${HNSW.efConstruction}. ` +
        "Both stores go through the same path: enqueue → claim → commitIngest, 1,000 chunks per document, " +
        "then `vectorSearch` one query at a time (PostgreSQL: pool, transaction, `SET LOCAL hnsw.ef_search`).",
      "",
      table(
        [
          "ef",
          "hnswlib recall",
          "hnswlib q/s",
          "SQLite store recall",
          "SQLite store q/s",
          "pgvector recall",
          "pgvector q/s",
          "pgvector p50 ms",
        ],
        EFS.map((ef, i) => {
          const sqlitePoint = sqliteResult.points[i] as Point;
          const pgPoint = pgResult.points[i] as Point;
          return [
            ef,
            (raw[i] as Point).recall.toFixed(4),
            fmt((raw[i] as Point).qps),
            sqlitePoint.recall.toFixed(4),
            fmt(sqlitePoint.qps),
            pgPoint.recall.toFixed(4),
            fmt(pgPoint.qps),
            fmt(pgPoint.p50Ms, 2),
          ];
        }),
      ),
      "",
      `Ingest (chunks/s through commitIngest: rows, full-text index, HNSW maintained on insert): ` +
        `SQLite store ${fmt(sqliteResult.chunksPerSecond)}, PostgreSQL ${fmt(pgResult.chunksPerSecond)} ` +
        `(raw hnswlib-node addPoint alone: ${fmt(hnsw.insertsPerSecond)} vectors/s).`,
      "",
      ...(http
        ? [
            `HTTP on loopback: autocannon, 10 connections, ${options.httpSeconds} s per row, k=10, over ${http.corpusNote}. ` +
              "Replicas are `gleaner` server processes with `GLEANER_DATABASE_URL` set and no other state; " +
              "server CPU per request is summed over the replicas and leaves out PostgreSQL's own. " +
              "autocannon, the replicas and PostgreSQL all share the same cores.",
            "",
            ...http.setups.flatMap((setup) => [
              `${setup.label}:`,
              "",
              httpMarkdown(setup.rows),
              "",
            ]),
          ]
        : []),
    ].join("\n");
    const best = pgResult.points.find((point) => point.recall >= 0.95) ?? pgResult.points.at(-1);
    const hybrid = (http?.setups ?? []).map((setup) => {
      const h = hybridOf(setup);
      return h
        ? `${setup.label.split(" (")[0]} ${fmt(h.requestsPerSecond)} req/s p99 ${fmt(h.p99)} ms`
        : "";
    });
    headline =
      `PostgreSQL (${server.kind === "real" ? "real server" : "PGlite"}) N=${fmt(N)}: ingest ${fmt(pgResult.chunksPerSecond)} chunks/s ` +
      `(SQLite ${fmt(sqliteResult.chunksPerSecond)}); pgvector recall@10 ${best?.recall.toFixed(3)} at ${fmt(best?.qps ?? 0)} q/s (ef=${best?.ef})` +
      (hybrid.length ? `; HTTP hybrid: ${hybrid.join(", ")}.` : ".");
  } finally {
    server.stop();
  }
  return { markdown, headline };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name: string) =>
    args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const { markdown, headline } = await runPostgresBench({
    n: Number(option("n") ?? 10_000),
    queries: Number(option("queries") ?? 300),
    httpChunks: Number(option("http-chunks") ?? 5_000),
    httpSeconds: Number(option("http-seconds") ?? 5),
    url: option("url"),
  });
  process.stdout.write(`${markdown}\n${headline}\n`);
  if (args.includes("--write")) {
    appendFileSync(fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url)), markdown);
  }
}
