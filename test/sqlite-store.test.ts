import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { axisVector, putDocument, runStoreContract } from "./support/store-contract.ts";
import { makeTempDir } from "./support/temp-dir.ts";

runStoreContract("sqlite", async () => {
  const dir = makeTempDir();
  let store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
  await store.open();
  return {
    store,
    async reopen() {
      await store.close();
      store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
      await store.open();
      return store;
    },
    async dispose() {
      await store.close();
      dir.remove();
    },
  };
});

const collection = {
  name: "idx",
  description: "",
  embedding: { provider: "local" as const, model: "test", dimensions: 8 },
  chunking: { maxTokens: 64, overlapTokens: 8 },
};

async function storeWithDocuments(dataDir: string): Promise<SqliteStore> {
  const store = new SqliteStore({ dataDir, indexSaveIntervalMs: 0 });
  await store.open();
  await store.createCollection(collection);
  for (let i = 0; i < 40; i++) {
    await putDocument(store, {
      collection: "idx",
      id: `d${i}`,
      texts: [{ text: `words ${i}`, axis: i % 8 }],
    });
  }
  return store;
}

async function nearestDocuments(store: SqliteStore, axis: number): Promise<string[]> {
  const hits = await store.vectorSearch({ collection: "idx", vector: axisVector(axis), k: 5 });
  return (await store.getChunks(hits.map((h) => h.chunkId))).map((c) => c.documentId).sort();
}

describe("SQLite store: the HNSW file is a cache of SQLite", () => {
  test("a current index file is loaded, not rebuilt", async () => {
    const dir = makeTempDir();
    const first = await storeWithDocuments(dir.path);
    const expected = await nearestDocuments(first, 3);
    await first.close();
    const second = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await second.open();
    assert.equal(second.indexLoadReports[0]?.outcome, "loaded");
    assert.deepEqual(await nearestDocuments(second, 3), expected);
    await second.close();
    dir.remove();
  });

  for (const damage of ["deleted", "corrupt", "truncated", "flipped"] as const) {
    test(`a ${damage} index file is rebuilt from stored vectors`, async () => {
      const dir = makeTempDir();
      const first = await storeWithDocuments(dir.path);
      const expected = await nearestDocuments(first, 2);
      await first.close();
      const indexDir = join(dir.path, "indexes");
      const file = readdirSync(indexDir).find((name) => name.endsWith(".hnsw"));
      assert.ok(file);
      const path = join(indexDir, file);
      if (damage === "deleted") rmSync(path);
      if (damage === "corrupt") writeFileSync(path, Buffer.alloc(4096, 0x5a));
      if (damage === "truncated") writeFileSync(path, Buffer.alloc(10));
      if (damage === "flipped") {
        // same size, damaged inside: only the checksum can tell, while the graph is being read
        const bytes = readFileSync(path);
        for (let i = 64; i < bytes.length; i += 97) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
        writeFileSync(path, bytes);
      }
      const second = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
      await second.open();
      assert.equal(second.indexLoadReports[0]?.outcome, "rebuilt");
      assert.equal(second.indexLoadReports[0]?.vectors, 40);
      assert.deepEqual(await nearestDocuments(second, 2), expected);
      assert.ok(existsSync(path), "the rebuilt index is saved again");
      await second.close();
      dir.remove();
    });
  }

  test("a stale index (changes after its last save) is reconciled with SQLite", async () => {
    const dir = makeTempDir();
    const first = await storeWithDocuments(dir.path);
    await first.saveIndexes();
    // changes after the save, then a "crash": the database is current, the index file is not
    await first.deleteDocument("idx", "d4");
    await putDocument(first, { collection: "idx", id: "late", texts: [{ text: "late", axis: 4 }] });
    const expected = await nearestDocuments(first, 4);
    // @ts-expect-error reaching into the store to simulate a crash: close SQLite without saving indexes
    first.db.close();
    const second = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await second.open();
    assert.equal(second.indexLoadReports[0]?.outcome, "reconciled");
    const now = await nearestDocuments(second, 4);
    assert.deepEqual(now, expected);
    assert.ok(now.includes("late") && !now.includes("d4"));
    await second.close();
    dir.remove();
  });
});

describe("SQLite store: averageKeywordLength", () => {
  test("is the mean of indexed title + text tokens per chunk, deleted chunks excluded", async () => {
    const dir = makeTempDir();
    const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await store.open();
    try {
      await store.createCollection(collection);
      // title "t" (1 token) + text: 5 and 3 tokens per chunk, stop words counted as FTS5 does
      await putDocument(store, {
        collection: "idx",
        id: "a",
        title: "t",
        texts: [
          { text: "the one two three", axis: 0 },
          { text: "five six", axis: 1 },
        ],
      });
      assert.equal(await store.averageKeywordLength("idx"), 4);
      await putDocument(store, {
        collection: "idx",
        id: "b",
        title: "t",
        texts: [{ text: "seven eight nine ten eleven twelve thirteen", axis: 2 }],
      });
      assert.equal(await store.averageKeywordLength("idx"), 16 / 3);
      await store.deleteDocument("idx", "b");
      assert.equal(await store.averageKeywordLength("idx"), 4);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});

describe("SQLite store: collection counts seen by a reader", () => {
  test("counts follow writes on this connection and commits from another", async () => {
    const dir = makeTempDir();
    const store = await storeWithDocuments(dir.path);
    const counts = async (s: SqliteStore) => {
      const record = await s.getCollection("idx");
      return [record?.documentCount, record?.chunkCount];
    };
    assert.deepEqual(await counts(store), [40, 40]);
    assert.deepEqual(await counts(store), [40, 40]);
    await putDocument(store, {
      collection: "idx",
      id: "extra",
      texts: [
        { text: "one", axis: 1 },
        { text: "two", axis: 2 },
      ],
    });
    assert.deepEqual(await counts(store), [41, 42]);
    assert.equal(await store.deleteDocument("idx", "d0"), true);
    assert.deepEqual(await counts(store), [40, 41]);

    const other = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await other.open();
    assert.equal(await other.deleteDocument("idx", "d1"), true);
    assert.deepEqual(await counts(store), [39, 40]);
    await other.close();

    await store.deleteCollection("idx");
    assert.equal(await store.getCollection("idx"), null);
    await store.close();
    dir.remove();
  });
});

describe("SQLite store: collection totals", () => {
  test("kept by triggers, they match a recount after adds, replacements and deletes", async () => {
    const dir = makeTempDir();
    const store = await storeWithDocuments(dir.path);
    await putDocument(store, {
      collection: "idx",
      id: "d1",
      texts: [
        { text: "replaced one", axis: 1 },
        { text: "replaced two", axis: 2 },
      ],
    });
    assert.ok(await store.deleteDocument("idx", "d2"));
    await store.createCollection({ ...collection, name: "other" });
    await putDocument(store, { collection: "other", id: "x", texts: [{ text: "x", axis: 0 }] });
    const recount = (name: string) =>
      Promise.all([store.getCollection(name), store.listDocuments(name, { limit: 1000 })]);
    for (const name of ["idx", "other"]) {
      const [record, page] = await recount(name);
      assert.equal(record?.documentCount, page.documents.length);
      const chunks = page.documents.reduce((sum, document) => sum + document.chunkCount, 0);
      assert.equal(record?.chunkCount, chunks);
      const tokens = page.documents.reduce((sum, document) => sum + document.embeddingTokens, 0);
      assert.equal(record?.embeddingTokens, tokens);
    }
    assert.equal((await store.getCollection("idx"))?.documentCount, 39);
    assert.equal((await store.getCollection("idx"))?.chunkCount, 40);
    await store.close();
    dir.remove();
  });
});

describe("SQLite store: keyword search ranks FTS5 first, then keeps the collection's rows", () => {
  test("top k equals the head of the full ranking, with other collections and filters", async () => {
    const dir = makeTempDir();
    const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await store.open();
    for (const name of ["big", "small"]) await store.createCollection({ ...collection, name });
    // "big" holds most of the index, and its chunks match the query better than "small"'s
    for (let i = 0; i < 30; i++) {
      await putDocument(store, {
        collection: "big",
        id: `b${i}`,
        metadata: { part: i % 3 },
        texts: [{ text: `flutter flutter wing ${"panel ".repeat(i % 5)}`, axis: i % 8 }],
      });
    }
    for (let i = 0; i < 6; i++) {
      await putDocument(store, {
        collection: "small",
        id: `s${i}`,
        metadata: { part: i % 2 },
        texts: [{ text: `flutter ${"panel ".repeat(i + 3)}`, axis: i % 8 }],
      });
    }
    const ids = async (name: string, k: number, filter?: Record<string, number>) => {
      const hits = await store.keywordSearch({ collection: name, text: "flutter wing", k, filter });
      const chunks = await store.getChunks(hits.map((hit) => hit.chunkId));
      return chunks.map((chunk) => `${chunk.collection}/${chunk.documentId}`);
    };
    for (const [name, filter] of [
      ["big", undefined],
      ["small", undefined],
      ["big", { part: 1 }],
      ["small", { part: 0 }],
    ] as const) {
      const all = await ids(name, 1000, filter);
      assert.ok(all.length > 0 && all.every((id) => id.startsWith(`${name}/`)));
      for (const k of [1, 2, 5]) assert.deepEqual(await ids(name, k, filter), all.slice(0, k));
    }
    assert.equal((await ids("small", 1000)).length, 6);
    assert.equal((await ids("small", 1000, { part: 0 })).length, 3);
    await store.close();
    dir.remove();
  });
});

describe("SQLite store: commitIngestMany", () => {
  test("commits several jobs in one call, each all or nothing on its own", async () => {
    const dir = makeTempDir();
    const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await store.open();
    await store.createCollection(collection);
    const jobs: number[] = [];
    for (const id of ["a", "b", "c"]) {
      const queued = await store.enqueueIngest({
        collection: "idx",
        documentId: id,
        title: id,
        metadata: {},
        source: { filename: null, mediaType: "text/plain", bytes: 1, sha256: id },
        payload: new TextEncoder().encode(id),
      });
      assert.ok(queued.jobId !== null);
      jobs.push(queued.jobId);
      assert.ok(await store.claimNextJob());
    }
    const result = (index: number, vector: Float32Array) => ({
      jobId: jobs[index] as number,
      collection: "idx",
      documentId: ["a", "b", "c"][index] as string,
      title: null,
      pageCount: null,
      tokenCount: 2,
      embeddingTokens: 2,
      chunks: [
        {
          text: `text ${index}`,
          charStart: 0,
          charEnd: 6,
          pageStart: null,
          pageEnd: null,
          tokenCount: 2,
          vector,
        },
      ],
    });
    const outcomes = await store.commitIngestMany([
      result(0, axisVector(0)),
      result(1, new Float32Array(3)), // wrong dimensions: this one alone fails
      result(2, axisVector(2)),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.ok),
      [true, false, true],
    );
    assert.equal((await store.getDocument("idx", "a"))?.status, "ready");
    assert.equal((await store.getDocument("idx", "b"))?.status, "processing");
    assert.equal((await store.getDocument("idx", "c"))?.chunkCount, 1);
    assert.equal(await store.countQueuedJobs(), 1, "the failed job is still there to be failed");
    assert.deepEqual(await nearestDocuments(store, 2).then((ids) => ids.includes("c")), true);
    await store.close();
    dir.remove();
  });
});

describe("SQLite store: term statistics", () => {
  test("frequencies read from the vocabulary in the background equal single look-ups", async () => {
    const dir = makeTempDir();
    const store = await storeWithDocuments(dir.path);
    const terms = ["word", "3", "17", "absent"];
    const first = await store.termStatistics("idx", terms);
    assert.equal(first.chunkCount, 40);
    assert.equal(first.documentFrequencies.get("word"), 40);
    assert.equal(first.documentFrequencies.get("17"), 1);
    assert.equal(first.documentFrequencies.has("absent"), false);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await store.termStatistics("idx", terms), first);
    await store.close();
    dir.remove();
  });
});

describe("SQLite store: enqueueIngestMany", () => {
  test("records every upload in one transaction, or none of them", async () => {
    const dir = makeTempDir();
    const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
    await store.open();
    await store.createCollection(collection);
    const upload = (name: string, id: string) => ({
      collection: name,
      documentId: id,
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: 1, sha256: id },
      payload: new TextEncoder().encode(id),
    });
    const outcomes = await store.enqueueIngestMany([upload("idx", "a"), upload("idx", "b")]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.document.status),
      ["queued", "queued"],
    );
    await assert.rejects(store.enqueueIngestMany([upload("idx", "c"), upload("missing", "d")]));
    assert.equal(await store.getDocument("idx", "c"), null, "the first upload was rolled back");
    assert.equal(await store.countQueuedJobs(), 2);
    await store.close();
    dir.remove();
  });
});
