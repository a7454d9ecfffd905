// npm run bench [-- --quick] [-- --only=ann,startup,ingest,http,postgres,recall] [-- --no-write]
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AnnResult, annMarkdown, overheadRatios, runAnn, setRounds } from "./ann.ts";
import { cacheDir, fmt, label, log, machineInfo, table } from "./common.ts";
import { syntheticDocuments } from "./corpus.ts";
import { buildSearchCorpus } from "./corpus-store.ts";
import { freshStoreDir, openStore } from "./gleaner-store.ts";
import { type HttpRow, httpMarkdown, runHttp } from "./http.ts";
import {
  cranfieldDocuments,
  createLocalCollection,
  type IngestResult,
  ingestMarkdown,
  ingestStaged,
  pdfDocuments,
  type SourceDocument,
} from "./ingest.ts";
import { runPostgresBench } from "./postgres.ts";
import { runRecall } from "./recall.ts";
import { runStartup, type StartupResult, startupMarkdown } from "./startup.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args
  .find((arg) => arg.startsWith("--only="))
  ?.slice(7)
  .split(",");
const wants = (section: string) => !only || only.includes(section);
const nArg = args.find((arg) => arg.startsWith("--n="))?.slice(4);

const PLAN = quick
  ? {
      annSizes: [10_000],
      corpusChunks: 3_000,
      ingestChunks: 500,
      httpSeconds: 3,
      pdfLimit: 4,
      rounds: 1,
      postgres: { n: 2_000, queries: 200, httpChunks: 1_000, httpSeconds: 3 },
      recallN: 2_000,
    }
  : {
      annSizes: [10_000, 100_000, 1_000_000],
      corpusChunks: 100_000,
      ingestChunks: 10_000,
      httpSeconds: 10,
      pdfLimit: Infinity,
      rounds: 3,
      postgres: { n: 10_000, queries: 300, httpChunks: 5_000, httpSeconds: 5 },
      recallN: 20_000,
    };
if (nArg) PLAN.annSizes = nArg.split(",").map(Number);
setRounds(PLAN.rounds);

/** Written into a search-corpus store once it is complete, so later runs reuse it. */
const CORPUS_MARKER = "corpus-complete";

const REPORT = fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url));
const started = Date.now();
const loadAtStart = loadavg()[0] ?? 0;
const sections: string[] = [];
const headlines: string[] = [];

const ann: AnnResult[] = [];
const startups: StartupResult[] = [];
if (wants("ann")) {
  for (const n of PLAN.annSizes) {
    const result = await runAnn(n);
    ann.push(result);
    if (wants("startup")) startups.push(runStartup(n, result.dataDir));
  }
  sections.push(
    "### 1. ANN: Gleaner's store vs raw hnswlib-node vs exact scan",
    ...ann.map(annMarkdown),
  );
  for (const result of ann) {
    const ratios = overheadRatios(result);
    const worst = Math.min(...ratios.map((r) => r.ratio));
    const at20 = ratios.find((r) => r.ef === 20)?.ratio ?? Number.NaN;
    headlines.push(
      `N=${label(result.n)}: Gleaner vector search runs at ${(at20 * 100).toFixed(0)}% of raw hnswlib-node q/s at ef=20 (worst over ef: ${(worst * 100).toFixed(0)}%) — target ≥ 80%: ${worst >= 0.8 ? "met" : "MISSED"}.`,
    );
  }
}
if (startups.length > 0) {
  sections.push("### 4. Memory, disk and start-up", startupMarkdown(startups));
  const perChunk = ann.map((result) => [
    label(result.n),
    fmt((result.gleaner.sqliteBytes + result.gleaner.indexBytes) / result.n),
    fmt(result.gleaner.sqliteBytes / result.n),
    fmt(result.gleaner.indexBytes / result.n),
    fmt(
      (((startups.find((s) => s.n === result.n)?.loaded.rssAfterMb ?? Number.NaN) -
        (startups.find((s) => s.n === result.n)?.loaded.rssBeforeMb ?? Number.NaN)) /
        result.n) *
        100_000,
    ),
  ]);
  sections.push(
    table(
      [
        "N",
        "disk bytes/chunk",
        "SQLite bytes/chunk",
        "index bytes/chunk",
        "RSS MiB per 100k (open Δ)",
      ],
      perChunk,
    ),
  );
  for (const s of startups) {
    const ok = s.loaded.reports.every((r) => r.outcome === "loaded");
    headlines.push(
      `Start-up with ${label(s.n)} vectors: ${(s.loaded.openMs / 1000).toFixed(2)} s (${ok ? "no rebuild" : "REBUILT"}); rebuild when the index is missing: ${(s.rebuilt.openMs / 1000).toFixed(1)} s.`,
    );
  }
}
if (ann.length > 0) {
  sections.push(
    "### 5. Scaling (vectors through the store)",
    table(
      [
        "N",
        "store commit rate chunks/s",
        "vector search p50 ms (ef=64)",
        "raw hnswlib build inserts/s",
      ],
      ann.map((r) => [
        label(r.n),
        fmt(r.gleaner.commitRate),
        r.gleaner.defaultEfP50Ms.toFixed(3),
        fmt(r.n / r.raw.buildS),
      ]),
    ),
  );
}

const ingests: IngestResult[] = [];
let corpusDir: string | null = null;
if (wants("ingest") || wants("http")) {
  if (wants("ingest")) {
    for (const [name, documents] of [
      ["Cranfield abstracts (text)", cranfieldDocuments()],
      [
        `shared PDFs${Number.isFinite(PLAN.pdfLimit) ? ` (first ${PLAN.pdfLimit})` : ""}`,
        pdfDocuments(PLAN.pdfLimit),
      ],
    ] as const) {
      log(`ingest: ${name}`);
      const store = await openStore(freshStoreDir("ingest-small"));
      await createLocalCollection(store, "bench");
      ingests.push(await ingestStaged(store, "bench", name, documents));
      await store.close();
    }
  }
  if (wants("ingest")) {
    log(`ingest: synthetic text, ${label(PLAN.ingestChunks)} chunks through the full pipeline`);
    const store = await openStore(freshStoreDir("ingest-synthetic"));
    await createLocalCollection(store, "bench");
    let done = 0;
    const documents = function* (): Generator<SourceDocument> {
      for (const doc of syntheticDocuments(Number.MAX_SAFE_INTEGER, 700)) {
        if (done >= PLAN.ingestChunks) return;
        yield { id: doc.id, filename: `${doc.id}.txt`, bytes: new TextEncoder().encode(doc.text) };
      }
    };
    const name = `synthetic text (${label(PLAN.ingestChunks)} chunks)`;
    ingests.push(
      await ingestStaged(store, "bench", name, documents(), (chunks) => {
        done = chunks;
      }),
    );
    await store.close();
  }
  if (wants("http")) {
    // the collection the HTTP section searches
    // built once and reused: the bulk build of 100k chunks takes many minutes (HNSW inserts)
    const existing = cacheDir("stores", `corpus-${PLAN.corpusChunks}`);
    if (existsSync(join(existing, CORPUS_MARKER))) {
      log(`search corpus: reusing ${existing}`);
      corpusDir = existing;
    } else {
      log(`search corpus: ${label(PLAN.corpusChunks)} chunks (bulk path)`);
      corpusDir = freshStoreDir(`corpus-${PLAN.corpusChunks}`);
      const store = await openStore(corpusDir);
      await createLocalCollection(store, "synthetic");
      ingests.push(await buildSearchCorpus(store, "synthetic", PLAN.corpusChunks));
      await store.close();
      writeFileSync(join(corpusDir, CORPUS_MARKER), `${PLAN.corpusChunks}\n`);
    }
  }
  if (wants("ingest")) {
    sections.push(
      "### 3. Ingest (local embedder, one document at a time, stages timed in the bench)",
      ingestMarkdown(ingests),
    );
  }
}
let http: HttpRow[] = [];
if (wants("http") && corpusDir) {
  http = await runHttp(corpusDir, "synthetic", PLAN.httpSeconds);
  sections.push(
    `### 2. HTTP on loopback (autocannon, ${PLAN.httpSeconds} s per row, ${label(PLAN.corpusChunks)}-chunk collection, local embedder, k=10)`,
    httpMarkdown(http),
  );
  const bare = http.find((r) => r.target === "bare Hono route" && r.connections === 10);
  const hybrid = http.find((r) => r.target === "search hybrid" && r.connections === 10);
  if (bare && hybrid) {
    const ratio = hybrid.requestsPerSecond / bare.requestsPerSecond;
    const cpuRatio = bare.serverCpuMs / hybrid.serverCpuMs;
    headlines.push(
      `HTTP hybrid search on ${label(PLAN.corpusChunks)} chunks, 10 connections: ${fmt(hybrid.requestsPerSecond)} req/s = ${(ratio * 100).toFixed(0)}% of the bare route by wall clock, ${(cpuRatio * 100).toFixed(0)}% by server CPU per request (${fmt(hybrid.serverCpuMs, 2)} vs ${fmt(bare.serverCpuMs, 2)} ms) — target ≥ 50%: ${ratio >= 0.5 ? "met" : "MISSED"}; p99 ${fmt(hybrid.p99, 1)} ms — target < 50 ms: ${hybrid.p99 < 50 ? "met" : "MISSED"}.`,
    );
  }
}

if (wants("postgres")) {
  const { markdown, headline } = await runPostgresBench(PLAN.postgres);
  sections.push("### 6. PostgreSQL + pgvector backend", markdown);
  headlines.push(headline);
}

if (wants("recall")) {
  sections.push(
    "### 7. Vector recall against exact (near-duplicates, shared datasets)",
    await runRecall({ n: PLAN.recallN }),
  );
}

const machine = machineInfo();
const command = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
const block = [
  "",
  `## Run ${new Date().toISOString()} — \`${command}\``,
  "",
  `Node ${machine.node} · ${machine.cpu} · ${machine.cores} cores · ${machine.memoryGb} GiB RAM · load average ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end (other processes share the cores) · wall time ${fmt((Date.now() - started) / 1000)} s · ANN N run: ${PLAN.annSizes.map(label).join(", ")}`,
  "",
  "**Headlines**",
  "",
  ...headlines.map((line) => `- ${line}`),
  "",
  ...sections.flatMap((section) => [section, ""]),
].join("\n");
process.stdout.write(`${block}\n`);
if (!args.includes("--no-write")) {
  appendFileSync(REPORT, block);
  log(`appended to ${REPORT}`);
}
