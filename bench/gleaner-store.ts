import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../src/store/store.ts";
import { cacheDir } from "./common.ts";
import { DIMENSIONS, row } from "./vectors.ts";

export const BENCH_COLLECTION = "bench";
/** Chunks per committed document when loading vectors through the store's commit path. */
const CHUNKS_PER_DOCUMENT = 1000;

/** A fresh data directory for a bench store. */
export function freshStoreDir(name: string): string {
  const directory = cacheDir("stores", name);
  rmSync(directory, { recursive: true, force: true });
  return cacheDir("stores", name);
}

/** Bytes of the SQLite files (db + WAL) and of the HNSW index files in a data directory. */
export function diskUsage(dataDir: string): { sqliteBytes: number; indexBytes: number } {
  let sqliteBytes = 0;
  for (const file of readdirSync(dataDir)) {
    if (file.startsWith("gleaner.db")) sqliteBytes += statSync(join(dataDir, file)).size;
  }
  let indexBytes = 0;
  for (const file of readdirSync(join(dataDir, "indexes"))) {
    indexBytes += statSync(join(dataDir, "indexes", file)).size;
  }
  return { sqliteBytes, indexBytes };
}

/**
 * Opens a store with periodic index saves off (the bench saves explicitly). `exactSearchBudget`
 * 0 makes every vector search go through HNSW (the ANN section measures the graph).
 */
export async function openStore(
  dataDir: string,
  options: { exactSearchBudget?: number } = {},
): Promise<SqliteStore> {
  const store = new SqliteStore({ dataDir, indexSaveIntervalMs: 0, ...options });
  await store.open();
  return store;
}

/**
 * Loads `n` vectors through the store's real ingest path (enqueue → claim → commitIngest, which
 * writes SQLite rows, the FTS table and the HNSW graph), one document per 1,000 chunks.
 * Returns the wall time; chunk ids come out as 1..n in a fresh store.
 */
export async function loadVectorsThroughCommit(
  store: Store,
  base: Float32Array,
  onProgress?: (done: number) => void,
  collection = BENCH_COLLECTION,
): Promise<number> {
  const n = base.length / DIMENSIONS;
  await store.createCollection({
    name: collection,
    description: "bench vectors",
    embedding: { provider: "local", model: "bench-vectors", dimensions: DIMENSIONS },
    chunking: { maxTokens: 256, overlapTokens: 32 },
  });
  const started = performance.now();
  for (let first = 0, doc = 0; first < n; first += CHUNKS_PER_DOCUMENT, doc++) {
    const last = Math.min(n, first + CHUNKS_PER_DOCUMENT);
    const payload = new TextEncoder().encode(`doc ${doc}`);
    const { jobId } = await store.enqueueIngest({
      collection,
      documentId: `doc-${doc}`,
      title: `doc ${doc}`,
      metadata: { part: doc % 10 },
      source: {
        filename: null,
        mediaType: "text/plain",
        bytes: payload.byteLength,
        sha256: `${doc}`,
      },
      payload,
    });
    const job = await store.claimNextJob();
    if (!job || job.jobId !== jobId) throw new Error("bench: unexpected job queue state");
    const chunks = [];
    for (let i = first; i < last; i++) {
      const text = `v${i}`;
      chunks.push({
        text,
        charStart: 0,
        charEnd: text.length,
        pageStart: null,
        pageEnd: null,
        tokenCount: 2,
        vector: row(base, i),
      });
    }
    await store.commitIngest({
      jobId: job.jobId,
      collection,
      documentId: job.documentId,
      title: job.title,
      pageCount: null,
      tokenCount: chunks.length * 2,
      embeddingTokens: 0,
      chunks,
    });
    onProgress?.(last);
  }
  return performance.now() - started;
}
