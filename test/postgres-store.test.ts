import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import {
  NO_REAL_POSTGRES,
  realPostgresUrl,
  startTestDatabase,
  type TestDatabase,
} from "./support/postgres-database.ts";
import { axisVector, putDocument, runStoreContract } from "./support/store-contract.ts";

let database: TestDatabase | null = null;

/** One database per test file (PGlite takes seconds to start); contract cases use distinct collections. */
async function sharedDatabase(): Promise<TestDatabase> {
  database ??= await startTestDatabase();
  return database;
}

// which backend runs is part of the test's name: only a real server proves behaviour under concurrency
const backend = realPostgresUrl ? "PostgreSQL" : "PGlite";

after(async () => {
  await database?.close();
});

runStoreContract(`postgres (${backend})`, async () => {
  const { url } = await sharedDatabase();
  let store = new PostgresStore({ connectionString: url, poolSize: 4 });
  await store.open();
  return {
    store,
    async reopen() {
      await store.close();
      store = new PostgresStore({ connectionString: url, poolSize: 4 });
      await store.open();
      return store;
    },
    async dispose() {
      await store.close();
    },
  };
});

const collection = (name: string, dimensions = 8) => ({
  name,
  description: "",
  embedding: { provider: "local" as const, model: "test", dimensions },
  chunking: { maxTokens: 64, overlapTokens: 8 },
});

describe(`PostgreSQL store (${backend}): replicas, leases and pgvector specifics`, () => {
  let url: string;
  before(async () => {
    url = (await sharedDatabase()).url;
  });
  // the queue is shared by every collection: start each case from an empty one
  beforeEach(async () => {
    await (await sharedDatabase()).exec("DELETE FROM jobs");
  });

  test("two store instances (replicas) see each other's writes; migrations run once", async () => {
    const first = new PostgresStore({ connectionString: url, poolSize: 2 });
    const second = new PostgresStore({ connectionString: url, poolSize: 2 });
    await Promise.all([first.open(), second.open()]);
    await first.createCollection(collection("pg-shared"));
    await putDocument(first, {
      collection: "pg-shared",
      id: "a",
      texts: [{ text: "shared compressor blades", axis: 2 }],
    });
    const hits = await second.keywordSearch({ collection: "pg-shared", text: "compressor", k: 3 });
    assert.equal(hits.length, 1);
    assert.equal(await second.deleteDocument("pg-shared", "a"), true);
    assert.equal(await first.getDocument("pg-shared", "a"), null);
    await Promise.all([first.close(), second.close()]);
  });

  test("a live replica's running job is not requeued by another replica's start", async () => {
    const owner = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 30 });
    const other = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 30 });
    await Promise.all([owner.open(), other.open()]);
    await owner.createCollection(collection("pg-lease"));
    await owner.enqueueIngest({
      collection: "pg-lease",
      documentId: "busy",
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: 4, sha256: "b".repeat(64) },
      payload: new TextEncoder().encode("busy"),
    });
    const job = await owner.claimNextJob();
    assert.equal(job?.documentId, "busy");
    assert.equal(await other.requeueInterruptedJobs(), 0, "the owner's lease is live");
    assert.equal(await other.claimNextJob(), null, "nor can it be claimed");
    assert.equal((await other.getDocument("pg-lease", "busy"))?.status, "processing");
    await owner.close();
    assert.equal(await other.requeueInterruptedJobs(), 1, "a closed replica's job is requeued");
    assert.equal((await other.claimNextJob())?.documentId, "busy");
    await other.close();
  });

  test("an expired lease lets another replica claim the job directly", async () => {
    const dying = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    const survivor = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    await Promise.all([dying.open(), survivor.open()]);
    await dying.createCollection(collection("pg-expire"));
    await dying.enqueueIngest({
      collection: "pg-expire",
      documentId: "orphan",
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: 6, sha256: "c".repeat(64) },
      payload: new TextEncoder().encode("orphan"),
    });
    assert.ok(await dying.claimNextJob());
    // a crash: the heartbeat stops and nothing is released
    // @ts-expect-error reaching into the store to simulate a dead process
    clearInterval(dying.heartbeat);
    let taken = null;
    for (let attempt = 0; attempt < 40 && !taken; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      taken = await survivor.claimNextJob();
    }
    assert.equal(taken?.documentId, "orphan");
    assert.equal(taken?.attempts, 2);
    // @ts-expect-error the dead store's pool is closed without releasing its claims
    await dying.pool.end();
    await survivor.close();
  });

  test("a job superseded while its replica died is dropped, not run again", async () => {
    const dying = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    const survivor = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    await Promise.all([dying.open(), survivor.open()]);
    await dying.createCollection(collection("pg-orphan"));
    const upload = (text: string) =>
      dying.enqueueIngest({
        collection: "pg-orphan",
        documentId: "doc",
        title: null,
        metadata: {},
        source: {
          filename: null,
          mediaType: "text/plain",
          bytes: text.length,
          sha256: createHash("sha256").update(text).digest("hex"),
        },
        payload: new TextEncoder().encode(text),
      });
    const first = await upload("first version");
    assert.equal((await dying.claimNextJob())?.jobId, first.jobId);
    // a newer upload supersedes the running job; then the replica running it dies
    const second = await upload("second version");
    // @ts-expect-error reaching into the store to simulate a dead process
    clearInterval(dying.heartbeat);
    let taken = null;
    for (let attempt = 0; attempt < 40 && !taken; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      taken = await survivor.claimNextJob();
    }
    assert.equal(taken?.jobId, second.jobId, "the newest upload is the one run");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await survivor.claimNextJob(), null, "the superseded job is never claimed");
    assert.equal(await survivor.countQueuedJobs(), 1, "only the claimed job is left");
    // @ts-expect-error the dead store's pool is closed without releasing its claims
    await dying.pool.end();
    await survivor.close();
  });

  test("a parked (batch) job outlives its lease and is listed for resuming", async () => {
    const store = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    await store.open();
    await store.createCollection(collection("pg-park"));
    await store.enqueueIngest({
      collection: "pg-park",
      documentId: "batched",
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: 7, sha256: "f".repeat(64) },
      payload: new TextEncoder().encode("batched"),
      embeddingMode: "batch",
    });
    const job = await store.claimNextJob();
    assert.equal(job?.embeddingMode, "batch");
    assert.equal(await store.parkJob(job?.jobId as number, "batch_123"), true);
    await store.close();
    const later = new PostgresStore({ connectionString: url, poolSize: 2, leaseSeconds: 1 });
    await later.open();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await later.requeueInterruptedJobs(), 0);
    assert.equal(await later.claimNextJob(), null);
    const parked = await later.listParkedJobs();
    assert.deepEqual(
      parked.map((p) => [p.documentId, p.externalRef, p.embeddingMode]),
      [["batched", "batch_123", "batch"]],
    );
    await later.close();
  });

  test("filtered vector search returns k results through the index path and the exact path", async () => {
    const store = new PostgresStore({ connectionString: url, poolSize: 2, exactScanThreshold: 5 });
    await store.open();
    await store.createCollection(collection("pg-filter"));
    for (let i = 0; i < 40; i++) {
      await putDocument(store, {
        collection: "pg-filter",
        id: `d${i}`,
        texts: [{ text: `doc ${i}`, axis: i % 8 }],
        metadata: { rare: i === 3 || i === 11, group: i % 2 === 0 ? "even" : "odd" },
      });
    }
    const broad = await store.vectorSearch({
      collection: "pg-filter",
      vector: axisVector(3),
      k: 6,
      filter: { group: "odd" },
    });
    assert.equal(broad.length, 6, "iterative index scan fills k");
    const broadDocs = await store.getChunks(broad.map((hit) => hit.chunkId));
    assert.ok(broadDocs.every((c) => c.metadata.group === "odd"));
    assert.ok(broad.every((hit, i) => i === 0 || (broad[i - 1]?.score ?? 0) >= hit.score));
    const rare = await store.vectorSearch({
      collection: "pg-filter",
      vector: axisVector(0),
      k: 5,
      filter: { rare: true },
    });
    assert.deepEqual(
      (await store.getChunks(rare.map((hit) => hit.chunkId))).map((c) => c.documentId).sort(),
      ["d11", "d3"],
    );
    await store.close();
  });

  test("an upload racing a collection delete through another replica is not_found, never raw", async () => {
    const uploader = new PostgresStore({ connectionString: url, poolSize: 4 });
    const deleter = new PostgresStore({ connectionString: url, poolSize: 2 });
    await Promise.all([uploader.open(), deleter.open()]);
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const name = `pg-vanishing-${round}`;
      await deleter.createCollection(collection(name));
      const uploads = Array.from({ length: 12 }, (_, i) =>
        uploader
          .enqueueIngest({
            collection: name,
            documentId: `d${i % 3}`,
            title: null,
            metadata: {},
            source: {
              filename: null,
              mediaType: "text/plain",
              bytes: 1,
              sha256: `${i}`.padStart(64, "0"),
            },
            payload: new Uint8Array([i]),
          })
          .then(
            () => "queued",
            (error: { type?: string; message: string }) =>
              `${error.type ?? "raw"}: ${error.message}`,
          ),
      );
      const [deleted, ...results] = await Promise.all([deleter.deleteCollection(name), ...uploads]);
      assert.equal(deleted, true);
      outcomes.push(...results);
    }
    const unexpected = outcomes.filter(
      (outcome) => outcome !== "queued" && !outcome.startsWith("not_found: "),
    );
    assert.deepEqual(unexpected, []);
    await Promise.all([uploader.close(), deleter.close()]);
  });

  test("collections of different dimensions live side by side", async () => {
    const store = new PostgresStore({ connectionString: url, poolSize: 2 });
    await store.open();
    await store.createCollection(collection("pg-dim3", 3));
    await store.createCollection(collection("pg-dim2500", 2500));
    const wide = new Float32Array(2500).fill(0.01);
    wide[7] = 1;
    for (const [name, vector] of [
      ["pg-dim3", Float32Array.from([0, 1, 0])],
      ["pg-dim2500", wide],
    ] as const) {
      const queued = await store.enqueueIngest({
        collection: name,
        documentId: "x",
        title: null,
        metadata: {},
        source: { filename: null, mediaType: "text/plain", bytes: 1, sha256: "d".repeat(64) },
        payload: new TextEncoder().encode("x"),
      });
      const job = await store.claimNextJob();
      assert.equal(job?.jobId, queued.jobId);
      await store.commitIngest({
        jobId: queued.jobId as number,
        collection: name,
        documentId: "x",
        title: null,
        pageCount: null,
        tokenCount: 1,
        embeddingTokens: 1,
        chunks: [
          {
            text: "x",
            charStart: 0,
            charEnd: 1,
            pageStart: null,
            pageEnd: null,
            tokenCount: 1,
            vector,
          },
        ],
      });
      const [hit] = await store.vectorSearch({ collection: name, vector, k: 1 });
      assert.ok((hit?.score ?? 0) > 0.99, name);
    }
    await store.close();
  });
});

// PGlite runs one transaction at a time, so lock waits (and deadlocks) happen only on a real server
describe("PostgreSQL store: replicas racing on one document", {
  skip: realPostgresUrl ? false : NO_REAL_POSTGRES,
}, () => {
  test("uploads, claims, commits and failures through two replicas take locks in one order", async () => {
    const database = await sharedDatabase();
    const deadlocks = async () =>
      (
        await database.query<{ deadlocks: number }>(
          "SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()",
        )
      )[0]?.deadlocks ?? 0;
    const before = await deadlocks();
    const replicas = [0, 1].map(
      () => new PostgresStore({ connectionString: database.url, poolSize: 4 }),
    );
    await Promise.all(replicas.map((replica) => replica.open()));
    await replicas[0]?.createCollection(collection("pg-race", 4));
    const errors: string[] = [];
    for (let round = 0; round < 8; round++) {
      await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const replica = replicas[i % 2] as PostgresStore;
          const content = `round ${round} upload ${i}`;
          try {
            await replica.enqueueIngest({
              collection: "pg-race",
              documentId: `doc-${round % 2}`,
              title: null,
              metadata: {},
              source: {
                filename: null,
                mediaType: "text/plain",
                bytes: content.length,
                sha256: createHash("sha256").update(content).digest("hex"),
              },
              payload: new TextEncoder().encode(content),
            });
            const job = await replica.claimNextJob();
            if (!job) return;
            if (i % 5 === 0) {
              await replica.failIngest({
                jobId: job.jobId,
                collection: job.collection,
                documentId: job.documentId,
                error: { type: "unprocessable", message: "fails on purpose", param: null },
                discardNewDocument: false,
              });
              return;
            }
            await replica.commitIngest({
              jobId: job.jobId,
              collection: job.collection,
              documentId: job.documentId,
              title: null,
              pageCount: null,
              tokenCount: 1,
              embeddingTokens: 1,
              chunks: [
                {
                  text: content,
                  charStart: 0,
                  charEnd: content.length,
                  pageStart: null,
                  pageEnd: null,
                  tokenCount: 1,
                  vector: Float32Array.from([1, 0, 0, 0]),
                },
              ],
            });
          } catch (error) {
            errors.push((error as Error).message);
          }
        }),
      );
    }
    // drain what the race left queued, then the document holds exactly one version
    for (
      let job = await replicas[0]?.claimNextJob();
      job;
      job = await replicas[0]?.claimNextJob()
    ) {
      await replicas[0]?.failIngest({
        jobId: job.jobId,
        collection: job.collection,
        documentId: job.documentId,
        error: { type: "unprocessable", message: "drained", param: null },
        discardNewDocument: false,
      });
    }
    // closing the pools ends their server processes, which flush their statistics
    await Promise.all(replicas.map((replica) => replica.close()));
    assert.deepEqual(errors, []);
    assert.equal((await deadlocks()) - before, 0, "no deadlock was detected (and retried)");
    const rows = await database.query<{ external_id: string; chunks: number }>(
      `SELECT d.external_id, (SELECT count(*)::int FROM chunks ch WHERE ch.document_key = d.key) AS chunks
         FROM documents d JOIN collections c ON c.id = d.collection_id
         WHERE c.name = 'pg-race' ORDER BY d.external_id`,
    );
    assert.deepEqual(rows, [
      { external_id: "doc-0", chunks: 1 },
      { external_id: "doc-1", chunks: 1 },
    ]);
  });
});
