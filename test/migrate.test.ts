import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../src/store/store.ts";
import {
  realPostgresUrl,
  startTestDatabase,
  type TestDatabase,
} from "./support/postgres-database.ts";
import { runGleaner } from "./support/server-process.ts";
import { axisVector, putDocument } from "./support/store-contract.ts";
import { makeTempDir } from "./support/temp-dir.ts";

const collection = (name: string) => ({
  name,
  description: `moved ${name}`,
  embedding: { provider: "local" as const, model: "test", dimensions: 8 },
  chunking: { maxTokens: 64, overlapTokens: 8 },
});

/** Documents whose chunk points the query's way (ties between equal vectors make order moot). */
async function nearest(store: Store, name: string, axis: number): Promise<string[]> {
  const hits = await store.vectorSearch({ collection: name, vector: axisVector(axis), k: 10 });
  const close = hits.filter((hit) => hit.score > 0.99).map((hit) => hit.chunkId);
  const ids = (await store.getChunks(close)).map((c) => c.documentId);
  return [...new Set(ids)].sort();
}

async function keyword(store: Store, name: string, text: string): Promise<string[]> {
  const hits = await store.keywordSearch({ collection: name, text, k: 10 });
  return (await store.getChunks(hits.map((hit) => hit.chunkId))).map((c) => c.documentId).sort();
}

describe(`gleaner migrate --to postgres://… (${realPostgresUrl ? "PostgreSQL" : "PGlite"})`, () => {
  let database: TestDatabase;
  const dir = makeTempDir();
  const cacheKey = { provider: "local", model: "test", dimensions: 8 };
  const cachedHash = createHash("sha256").update("cached text").digest("hex");

  before(async () => {
    database = await startTestDatabase();
    const sqlite = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await sqlite.open();
    await sqlite.createCollection(collection("manuals"));
    await sqlite.createCollection(collection("default"));
    for (let i = 0; i < 12; i++) {
      await putDocument(sqlite, {
        collection: "manuals",
        id: `m${i}`,
        title: `Manual ${i}`,
        texts: [
          { text: `hydraulic pump section ${i}`, axis: i % 8 },
          { text: `torque table ${i}`, axis: (i + 3) % 8 },
        ],
        metadata: { fleet: i % 2 === 0 ? "a320" : "b737", rev: i },
      });
    }
    await putDocument(sqlite, {
      collection: "default",
      id: "note",
      texts: [{ text: "default collection note", axis: 1 }],
    });
    // an upload still waiting in the queue moves as a queued job
    await sqlite.enqueueIngest({
      collection: "default",
      documentId: "waiting",
      title: null,
      metadata: {},
      source: { filename: "w.txt", mediaType: "text/plain", bytes: 7, sha256: "e".repeat(64) },
      payload: new TextEncoder().encode("waiting"),
    });
    await sqlite.putCachedEmbeddings(cacheKey, [{ textHash: cachedHash, vector: axisVector(5) }]);
    // the OpenAI-compatible surface's objects (an uploaded file with its bytes) move too
    await sqlite.putOpenAIObject(
      {
        kind: "file",
        parent: "",
        id: "file-1",
        createdAt: 1_800_000_000,
        body: { filename: "a.txt" },
      },
      new TextEncoder().encode("file bytes"),
    );
    await sqlite.close();
  });

  after(async () => {
    await database.close();
    dir.remove();
  });

  test("copies collections, documents, chunks with vectors, queued uploads and the cache", async () => {
    // a replica already started on the database: its empty `default` is filled, not duplicated
    const replica = new PostgresStore({ connectionString: database.url, poolSize: 2 });
    await replica.open();
    await replica.createCollection(collection("default"));

    const run = await runGleaner(["migrate", "--to", database.url], {
      GLEANER_DATA_DIR: dir.path,
      GLEANER_LOG_LEVEL: "silent",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /manuals: 12 documents, 24 chunks/);
    assert.match(run.stdout, /2 collections, 14 documents, 25 chunks, 1 cache entries/);

    const sqlite = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await sqlite.open();
    const moved = await replica.getCollection("manuals");
    assert.equal(moved?.documentCount, 12);
    assert.equal(moved?.chunkCount, 24);
    assert.equal(moved?.description, "moved manuals");
    for (const axis of [0, 3, 6]) {
      assert.deepEqual(
        await nearest(replica, "manuals", axis),
        await nearest(sqlite, "manuals", axis),
      );
    }
    assert.deepEqual(
      await keyword(replica, "manuals", "hydraulic"),
      await keyword(sqlite, "manuals", "hydraulic"),
    );
    const filtered = await replica.keywordSearch({
      collection: "manuals",
      text: "torque",
      k: 20,
      filter: { fleet: "a320" },
    });
    assert.equal(filtered.length, 6);
    const document = await replica.getDocument("manuals", "m4");
    const original = await sqlite.getDocument("manuals", "m4");
    assert.deepEqual(document, original, "document records are identical, timestamps included");
    await sqlite.close();

    assert.equal((await replica.getDocument("default", "note"))?.status, "ready");
    assert.equal((await replica.getDocument("default", "waiting"))?.status, "queued");
    const job = await replica.claimNextJob();
    assert.equal(new TextDecoder().decode(job?.payload), "waiting");
    const cached = await replica.getCachedEmbeddings(cacheKey, [cachedHash]);
    assert.deepEqual([...(cached.get(cachedHash) ?? [])], [...axisVector(5)]);
    assert.deepEqual((await replica.getOpenAIObject("file", "", "file-1"))?.body, {
      filename: "a.txt",
    });
    assert.equal(
      new TextDecoder().decode((await replica.getOpenAIContent("file", "", "file-1")) ?? undefined),
      "file bytes",
    );
    await replica.close();

    const again = await runGleaner(["migrate", "--to", database.url, "--collection", "manuals"], {
      GLEANER_DATA_DIR: dir.path,
      GLEANER_LOG_LEVEL: "silent",
    });
    assert.equal(again.code, 1, "a collection already holding documents is not copied twice");
    assert.match(again.stdout, /manuals: skipped, it already holds 12 documents/);
  });
});
