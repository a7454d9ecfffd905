// Vector recall against exact (issue 12, part 3): exact-scan cost by collection size, HNSW
// recall@10 on a near-duplicate corpus (the shape that leaves graph points unreachable) with
// and without Gleaner's verification, the store's default path, and the shared IR datasets.
// Standalone: npx tsx bench/recall.ts [--n=20000]; or npm run bench -- --only=recall
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LocalEmbeddingModel } from "../src/embed/local-embedder.ts";
import { ExactVectors, type LabelScore } from "../src/store/exact-vectors.ts";
import { DEFAULT_HNSW, HnswIndex } from "../src/store/hnsw/hnsw-index.ts";
import { normalized } from "../src/store/vector-codec.ts";
import { nearDuplicateRecords } from "../test/support/near-duplicates.ts";
import { fmt, gaussian, log, SHARED_DIR, seededRandom, table } from "./common.ts";
import { freshStoreDir, loadVectorsThroughCommit, openStore } from "./gleaner-store.ts";

const DIMENSIONS = 256;
const K = 10;
const SEED = 20261208;
/** Vectors per verified batch when building with verification (one commit's worth). */
const BATCH = 1_000;

/** CPU milliseconds per call of `run`, over `count` calls (the machine is shared). */
function cpuMsPer(count: number, run: (i: number) => void): number {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) run(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}

function randomUnitVectors(n: number, seed: number): Float32Array[] {
  const next = gaussian(seededRandom(seed));
  return Array.from({ length: n }, () => {
    const vector = new Float32Array(DIMENSIONS);
    for (let d = 0; d < DIMENSIONS; d++) vector[d] = next();
    return normalized(vector);
  });
}

/** Recall@K of `found` against exact, counting a hit that ties the exact K-th score as right. */
function recallAgainst(
  exact: ExactVectors,
  queries: Float32Array[],
  found: LabelScore[][],
): number {
  let right = 0;
  let wanted = 0;
  for (const [qi, query] of queries.entries()) {
    const truth = exact.search(query, K);
    const floor = (truth.at(-1)?.score ?? 1) - 1e-6;
    const hits = (found[qi] ?? []).filter((hit) => exact.has(hit.label) && hit.score >= floor);
    right += Math.min(hits.length, truth.length);
    wanted += truth.length;
  }
  return wanted === 0 ? 1 : right / wanted;
}

function buildIndex(vectors: Float32Array[], verify: boolean) {
  const index = HnswIndex.create({ ...DEFAULT_HNSW, dimensions: DIMENSIONS }, vectors.length);
  const started = process.cpuUsage();
  for (let first = 0; first < vectors.length; first += BATCH) {
    const labels: number[] = [];
    for (let i = first; i < Math.min(vectors.length, first + BATCH); i++) {
      index.add(i, vectors[i] as Float32Array);
      labels.push(i);
    }
    if (verify) {
      index.verify(labels);
      index.sweep(2 * labels.length);
    }
  }
  const used = process.cpuUsage(started);
  return { index, buildCpuS: (used.user + used.system) / 1e6 };
}

/** The graph as before issue 12 (no verification) beside the graph with it. */
function hnswRows(name: string, vectors: Float32Array[], queries: Float32Array[], own?: number[]) {
  const exact = new ExactVectors(DIMENSIONS, vectors.length);
  vectors.forEach((vector, i) => {
    exact.set(i, vector);
  });
  const rows: (string | number)[][] = [];
  for (const verify of [false, true]) {
    const { index, buildCpuS } = buildIndex(vectors, verify);
    for (const ef of [64, 128]) {
      const found = queries.map((query) => index.search(query, K, { ef }));
      const missed = own
        ? own.filter((label, qi) => !found[qi]?.some((h) => h.label === label))
        : [];
      rows.push([
        name,
        verify ? "verified (this change)" : "unverified (before)",
        ef,
        fmt(recallAgainst(exact, queries, found), 4),
        own ? `${missed.length} / ${own.length}` : "–",
        index.orphanCount,
        fmt(buildCpuS, 1),
      ]);
    }
  }
  return rows;
}

async function embed(texts: string[], purpose: "document" | "query"): Promise<Float32Array[]> {
  const model = new LocalEmbeddingModel({ dimensions: DIMENSIONS });
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 2048) {
    const { embeddings } = await model.doEmbed({ values: texts.slice(i, i + 2048), purpose });
    out.push(...embeddings);
  }
  return out;
}

function readJsonl(path: string): { id: string; text: string; title?: string }[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { id: string; text: string; title?: string });
}

export async function runRecall(options: { n: number }): Promise<string> {
  const parts: string[] = [];

  log("recall: exact scan vs HNSW query cost by collection size");
  const costRows: (string | number)[][] = [];
  for (const n of [1_000, 5_000, 20_000, 50_000]) {
    const vectors = randomUnitVectors(n, SEED + n);
    const queries = randomUnitVectors(200, SEED - n);
    const exact = new ExactVectors(DIMENSIONS, n);
    vectors.forEach((vector, i) => {
      exact.set(i, vector);
    });
    for (let i = 0; i < 20; i++) exact.search(queries[i] as Float32Array, K);
    const exactMs = cpuMsPer(queries.length, (i) => exact.search(queries[i] as Float32Array, K));
    let hnswMs = Number.NaN;
    if (n <= 20_000) {
      const { index } = buildIndex(vectors, true);
      for (let i = 0; i < 20; i++) index.search(queries[i] as Float32Array, K);
      hnswMs = cpuMsPer(queries.length, (i) => index.search(queries[i] as Float32Array, K));
    }
    costRows.push([n, DIMENSIONS, fmt(exactMs, 2), Number.isNaN(hnswMs) ? "–" : fmt(hnswMs, 3)]);
  }
  parts.push(
    "Query cost (CPU ms per query, k=10, seeded random unit vectors; HNSW M=16, efC=200, ef=64):",
    "",
    table(["chunks", "dimensions", "exact scan ms", "HNSW ms"], costRows),
  );

  log(`recall: near-duplicate corpus of ${options.n} records (local embedder)`);
  const records = nearDuplicateRecords(options.n, SEED);
  const vectors = await embed(
    records.map((record) => record.text),
    "document",
  );
  const sample = records.map((_, i) => i).filter((i) => i % Math.ceil(options.n / 1000) === 0);
  const queries = await embed(
    sample.map((i) => (records[i] as { query: string }).query),
    "query",
  );
  const rows = hnswRows(`near-duplicates (${options.n})`, vectors, queries, sample);

  log("recall: the store's default path on the same corpus (real commit path)");
  const flat = new Float32Array(vectors.length * DIMENSIONS);
  vectors.forEach((vector, i) => {
    flat.set(vector, i * DIMENSIONS);
  });
  const storeRows: (string | number)[][] = [];
  for (const budget of [undefined, 0]) {
    const store = await openStore(freshStoreDir(`recall-${budget ?? "default"}`), {
      exactSearchBudget: budget,
    });
    const buildMs = await loadVectorsThroughCommit(store, flat);
    const exact = new ExactVectors(DIMENSIONS, vectors.length);
    // chunk ids are 1..n in a fresh store
    vectors.forEach((vector, i) => {
      exact.set(i + 1, vector);
    });
    const found: LabelScore[][] = [];
    for (const query of queries) {
      const hits = await store.vectorSearch({ collection: "bench", vector: query, k: K });
      found.push(hits.map((hit) => ({ label: hit.chunkId, score: hit.score })));
    }
    const missed = sample.filter((label, qi) => !found[qi]?.some((h) => h.label === label + 1));
    storeRows.push([
      budget === undefined ? "default (exact within budget)" : "GLEANER_EXACT_SEARCH_BUDGET=0",
      fmt(recallAgainst(exact, queries, found), 4),
      `${missed.length} / ${sample.length}`,
      fmt(buildMs / 1000, 1),
    ]);
    await store.close();
  }

  for (const dataset of ["cranfield", "cisi", "npl"]) {
    const dir = join(SHARED_DIR, "datasets", dataset);
    if (!existsSync(join(dir, "docs.jsonl"))) {
      log(`recall: ${dataset} skipped (${dir} is not there)`);
      continue;
    }
    log(`recall: ${dataset}`);
    const docs = readJsonl(join(dir, "docs.jsonl"));
    const docVectors = await embed(
      docs.map((doc) => `${doc.title ?? ""}\n${doc.text}`),
      "document",
    );
    const queryVectors = await embed(
      readJsonl(join(dir, "queries.jsonl")).map((query) => query.text),
      "query",
    );
    rows.push(...hnswRows(`${dataset} (${docs.length} docs)`, docVectors, queryVectors));
  }
  parts.push(
    "",
    "HNSW path (`HnswIndex`, M=16, efC=200, built in batches of 1,000; verified = each batch checked " +
      "and swept as `VectorIndexes.add` does). recall@10 against an exact scan (a hit tying the exact " +
      "10th score counts); own record missed = the record queried by its own first words is not in the top 10:",
    "",
    table(
      ["corpus", "graph", "ef", "recall@10", "own record missed", "orphans", "build CPU s"],
      rows,
    ),
    "",
    `Through \`SqliteStore.vectorSearch\` (real commit path, 1,000 chunks per document), near-duplicates (${options.n}):`,
    "",
    table(["store setting", "recall@10", "own record missed", "load s (wall)"], storeRows),
  );
  return parts.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const nArg = process.argv.find((arg) => arg.startsWith("--n="))?.slice(4);
  process.stdout.write(`${await runRecall({ n: Number(nArg ?? 20_000) })}\n`);
}
