import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { DEFAULT_HNSW, HnswIndex } from "../src/store/hnsw/hnsw-index.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { blobToVector } from "../src/store/vector-codec.ts";
import { delay, type ServerProcess, startServerProcess } from "./support/server-process.ts";
import { makeTempDir } from "./support/temp-dir.ts";

const VOCABULARY = (
  "boundary layer turbulence pressure gradient shock wave wing flutter heat transfer nozzle " +
  "supersonic laminar vortex drag lift cylinder plate jet mixing stability viscous flow " +
  "compressible buckling shell panel load stress strain fatigue crack beam column thermal"
).split(" ");

let sequence = 0;

/** A document whose unique marker word finds it by keyword and whose text finds it by vector. */
// Short texts: each document is found by vector search with its own text among hundreds of
// look-alikes drawn from the same 40 words, so the unique marker must weigh in the vector.
function makeDocument(prefix: string, length = 16): { id: string; text: string; marker: string } {
  sequence += 1;
  const marker = `${prefix}m${sequence}q${Math.floor(Math.random() * 1e6)}`;
  const words = Array.from(
    { length },
    () => VOCABULARY[Math.floor(Math.random() * VOCABULARY.length)],
  );
  return { id: `${prefix}-${sequence}`, text: `${marker} ${words.join(" ")} ${marker}x`, marker };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function listAll(url: string): Promise<any[]> {
  const documents: any[] = [];
  let after = "";
  for (;;) {
    const query = `limit=1000${after ? `&after=${encodeURIComponent(after)}` : ""}`;
    const response = await fetch(`${url}/v1/collections/default/documents?${query}`);
    const body: any = await response.json();
    documents.push(...body.data);
    if (!body.has_more) return documents;
    after = body.next_after;
  }
}

/** Waits until no document is queued or processing. */
async function drained(url: string, timeoutMs = 60_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const documents = await listAll(url);
    const pending = documents.filter((d) => d.status === "queued" || d.status === "processing");
    if (pending.length === 0) return documents;
    if (Date.now() > deadline) assert.fail(`${pending.length} documents stayed pending`);
    await delay(200);
  }
}

interface Ledger {
  /** id → text of every upload the server acknowledged (201 ready or 202 queued). */
  acknowledged: Map<string, string>;
  /** Deletes the server acknowledged with 204. */
  deleted: Set<string>;
  /** Ids whose fate is unknown: the process died before answering. */
  uncertain: Set<string>;
}

/** Uploads until stopped: single documents that wait (201) and bulk batches that do not (202). */
async function uploadLoop(
  url: string,
  writer: number,
  ledger: Ledger,
  stop: { now: boolean },
): Promise<void> {
  for (let turn = 0; !stop.now; turn++) {
    const documents =
      turn % 4 === 3
        ? Array.from({ length: 5 }, () => makeDocument(`w${writer}`))
        : [makeDocument(`w${writer}`)];
    for (const document of documents) ledger.uncertain.add(document.id);
    try {
      const document = documents[0];
      if (documents.length === 1 && document) {
        const response = await post(`${url}/v1/collections/default/documents`, {
          id: document.id,
          text: document.text,
        });
        assert.equal(response.status, 201, JSON.stringify(response.body));
        assert.equal(response.body.status, "ready");
      } else {
        const response = await post(`${url}/v1/collections/default/documents?wait=false`, {
          documents: documents.map(({ id, text }) => ({ id, text })),
        });
        assert.equal(response.status, 202, JSON.stringify(response.body));
      }
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      return; // the connection died with the process: these stay uncertain
    }
    for (const document of documents) {
      ledger.uncertain.delete(document.id);
      ledger.acknowledged.set(document.id, document.text);
    }
  }
}

/** Deletes acknowledged documents one at a time until stopped. */
async function deleteLoop(url: string, ledger: Ledger, stop: { now: boolean }): Promise<void> {
  const victims = [...ledger.acknowledged.keys()].filter((_, i) => i % 3 === 0);
  for (const id of victims) {
    if (stop.now) return;
    ledger.acknowledged.delete(id);
    ledger.uncertain.add(id);
    let status: number;
    try {
      status = (
        await fetch(`${url}/v1/collections/default/documents/${encodeURIComponent(id)}`, {
          method: "DELETE",
        })
      ).status;
    } catch {
      return;
    }
    assert.equal(status, 204);
    ledger.uncertain.delete(id);
    ledger.deleted.add(id);
  }
}

async function search(url: string, query: string, mode: string, k: number): Promise<string[]> {
  const response = await post(`${url}/v1/collections/default/search`, { query, mode, k });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.data.map((hit: any) => hit.document_id);
}

/** Every acknowledged document is ready and found both ways; every acknowledged delete is gone. */
async function verify(url: string, ledger: Ledger): Promise<void> {
  const documents = await drained(url);
  const byId = new Map(documents.map((d) => [d.id, d]));
  for (const [id, text] of ledger.acknowledged) {
    const document = byId.get(id);
    assert.ok(document, `acknowledged document ${id} is missing`);
    assert.equal(document.status, "ready", `${id}: ${JSON.stringify(document.error)}`);
    const marker = text.split(" ")[0] as string;
    assert.ok((await search(url, marker, "keyword", 5)).includes(id), `${id} by keyword`);
    assert.ok((await search(url, text, "vector", 10)).includes(id), `${id} by vector`);
  }
  for (const id of ledger.deleted) {
    assert.equal(byId.has(id), false, `deleted ${id} came back`);
  }
  for (const document of documents) {
    if (!ledger.acknowledged.has(document.id)) {
      assert.ok(ledger.uncertain.has(document.id), `unexpected document ${document.id}`);
      assert.ok(document.status === "ready" || document.status === "failed");
    }
  }
}

describe("durability of the real server process", { timeout: 240_000 }, () => {
  const directories: { remove(): void }[] = [];
  const running: ServerProcess[] = [];
  after(async () => {
    for (const server of running) if (server.child.exitCode === null) server.child.kill("SIGKILL");
    for (const directory of directories) directory.remove();
  });

  test("SIGKILL during uploads and during deletes loses nothing acknowledged", async (t) => {
    const directory = makeTempDir();
    directories.push(directory);
    const env = { GLEANER_DATA_DIR: directory.path };
    const ledger: Ledger = { acknowledged: new Map(), deleted: new Set(), uncertain: new Set() };
    const rounds = ["uploads", "uploads and deletes", "uploads"];
    const killedAt: string[] = [];
    for (const [round, activity] of rounds.entries()) {
      const server = await startServerProcess(env);
      running.push(server);
      if (round > 0) await verify(server.url, ledger);
      const stop = { now: false };
      const loops = [0, 1, 2, 3].map((writer) => uploadLoop(server.url, writer, ledger, stop));
      if (activity.includes("deletes")) loops.push(deleteLoop(server.url, ledger, stop));
      const wait = 300 + Math.floor(Math.random() * 1200);
      await delay(wait);
      const before = ledger.acknowledged.size;
      const exit = await server.kill("SIGKILL");
      stop.now = true;
      await Promise.all(loops);
      assert.equal(exit.signal, "SIGKILL");
      killedAt.push(`${activity} after ${wait} ms (${before} acknowledged)`);
    }
    const server = await startServerProcess(env);
    running.push(server);
    await verify(server.url, ledger);
    const exit = await server.kill("SIGTERM");
    assert.equal(exit.code, 0);
    assert.ok(ledger.deleted.size > 0, "some deletes were acknowledged");
    t.diagnostic(
      `killed ${rounds.length} times (${killedAt.join("; ")}); ${ledger.acknowledged.size} acknowledged uploads recovered, ${ledger.deleted.size} acknowledged deletes stayed deleted, ${ledger.uncertain.size} unacknowledged`,
    );
    console.log(
      `durability: ${ledger.acknowledged.size} acknowledged uploads killed-and-recovered over ${rounds.length} SIGKILLs`,
    );
  });

  test("SIGKILL during a re-index keeps one whole embedding configuration", async (t) => {
    const directory = makeTempDir();
    directories.push(directory);
    const env = { GLEANER_DATA_DIR: directory.path };
    const ledger: Ledger = { acknowledged: new Map(), deleted: new Set(), uncertain: new Set() };
    const server = await startServerProcess(env);
    running.push(server);
    const seed = Array.from({ length: 600 }, () => makeDocument("r"));
    for (let start = 0; start < seed.length; start += 200) {
      const batch = seed.slice(start, start + 200);
      const response = await post(`${server.url}/v1/collections/default/documents?wait=false`, {
        documents: batch.map(({ id, text }) => ({ id, text })),
      });
      assert.equal(response.status, 202, JSON.stringify(response.body));
      for (const document of batch) ledger.acknowledged.set(document.id, document.text);
    }
    await drained(server.url, 120_000);
    const before = (await (await fetch(`${server.url}/v1/collections/default`)).json()) as any;
    const oldDimensions: number = before.embedding.dimensions;
    // wider, not narrower: the check below finds each document by its text among hundreds of
    // look-alikes, which fewer hash buckets would make a matter of luck
    const newDimensions = oldDimensions * 2;

    // the re-index runs while uploads go on, and the process dies at a moment of chance
    let reindexAnswered = false;
    const reindex = post(`${server.url}/v1/collections/default/reindex`, {
      embedding: { provider: "local", dimensions: newDimensions },
    }).then(
      (response) => {
        assert.equal(response.status, 200, JSON.stringify(response.body));
        reindexAnswered = true;
      },
      () => undefined, // the connection died with the process
    );
    const stop = { now: false };
    const loops = [0, 1].map((writer) => uploadLoop(server.url, writer, ledger, stop));
    const wait = 50 + Math.floor(Math.random() * 600);
    await delay(wait);
    const exit = await server.kill("SIGKILL");
    stop.now = true;
    await Promise.all([reindex, ...loops]);
    assert.equal(exit.signal, "SIGKILL");

    const restarted = await startServerProcess(env);
    running.push(restarted);
    await verify(restarted.url, ledger);
    const after = (await (await fetch(`${restarted.url}/v1/collections/default`)).json()) as any;
    const dimensions: number = after.embedding.dimensions;
    if (reindexAnswered) assert.equal(dimensions, newDimensions, "an answered re-index stays");
    else assert.ok([oldDimensions, newDimensions].includes(dimensions), `dimensions ${dimensions}`);
    assert.equal(after.document_count, (await listAll(restarted.url)).length);
    assert.equal((await restarted.kill("SIGTERM")).code, 0);

    const store = new SqliteStore({ dataDir: directory.path, indexSaveIntervalMs: 0 });
    await store.open();
    try {
      await assertIndexMatchesDatabase(store, directory.path);
    } finally {
      await store.close();
    }
    t.diagnostic(
      `killed ${wait} ms into a re-index ${oldDimensions} -> ${newDimensions} dimensions (${reindexAnswered ? "answered" : "not answered"} before the kill); after restart the collection has ${dimensions} dimensions and ${ledger.acknowledged.size} acknowledged documents are ready and found`,
    );
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} finishes in-flight uploads, keeps queued work, saves indexes, exits 0`, async (t) => {
      const directory = makeTempDir();
      directories.push(directory);
      const env = { GLEANER_DATA_DIR: directory.path, GLEANER_INGEST_CONCURRENCY: "1" };
      const server = await startServerProcess(env);
      running.push(server);
      const url = `${server.url}/v1/collections/default/documents`;
      // long documents (several chunks each) keep the single ingest worker busy for seconds
      const before = Array.from({ length: 12 }, () => makeDocument("a", 2500));
      assert.equal(
        (
          await post(`${url}?wait=false`, {
            documents: before.map(({ id, text }) => ({ id, text })),
          })
        ).status,
        202,
      );
      const inFlight = makeDocument("f");
      const waiting = post(url, { id: inFlight.id, text: inFlight.text });
      while ((await fetch(`${url}/${inFlight.id}`)).status !== 200) await delay(10);
      // queued behind the waiting upload: shutdown must leave these for the next start
      const behind = Array.from({ length: 40 }, () => makeDocument("b", 2500));
      assert.equal(
        (
          await post(`${url}?wait=false`, {
            documents: behind.map(({ id, text }) => ({ id, text })),
          })
        ).status,
        202,
      );
      const exit = await server.kill(signal);
      assert.deepEqual(exit, { code: 0, signal: null }, server.output().stderr);
      const answered = await waiting;
      assert.equal(answered.status, 201, "the in-flight upload was finished, not dropped");

      // the indexes were saved on the way out: the next open loads them as they are
      const store = new SqliteStore({ dataDir: directory.path, indexSaveIntervalMs: 0 });
      await store.open();
      try {
        const left = await store.countQueuedJobs();
        t.diagnostic(`${signal}: ${left} jobs left queued for the next start`);
        assert.ok(left > 0, "work queued behind the in-flight upload stays queued");
        assert.ok(store.indexLoadReports.length > 0);
        for (const report of store.indexLoadReports) assert.equal(report.outcome, "loaded");
        await assertIndexMatchesDatabase(store, directory.path);
      } finally {
        await store.close();
      }

      const restarted = await startServerProcess(env);
      running.push(restarted);
      const documents = await drained(restarted.url);
      const ready = new Set(documents.filter((d) => d.status === "ready").map((d) => d.id));
      for (const document of [...before, inFlight, ...behind]) {
        assert.ok(ready.has(document.id), document.id);
      }
      assert.equal((await restarted.kill(signal)).code, 0);
    });
  }
});

/** The saved graph holds exactly SQLite's chunk ids, and a chunk's own vector finds it. */
async function assertIndexMatchesDatabase(store: SqliteStore, dataDir: string): Promise<void> {
  const db = new Database(join(dataDir, "gleaner.db"), { readonly: true });
  try {
    const collection = db
      .prepare<[], { id: number; embedding_dimensions: number }>(
        "SELECT id, embedding_dimensions FROM collections WHERE name = 'default'",
      )
      .get();
    assert.ok(collection);
    const rows = db
      .prepare<[number], { id: number; vector: Buffer }>(
        "SELECT id, vector FROM chunks WHERE collection_id = ? ORDER BY id",
      )
      .all(collection.id);
    assert.ok(rows.length > 0);
    const saved = await HnswIndex.load(
      join(dataDir, "indexes", `collection-${collection.id}.hnsw`),
      {
        ...DEFAULT_HNSW,
        dimensions: collection.embedding_dimensions,
      },
    );
    assert.ok(saved, "the index file is present and intact");
    // nothing was deleted here, so the graph's labels are exactly the live chunks
    assert.deepEqual(
      saved.index.storedLabels().sort((a, b) => a - b),
      rows.map((row) => row.id),
    );
    for (const row of rows.filter((_, i) => i % 10 === 0)) {
      const hits = await store.vectorSearch({
        collection: "default",
        vector: blobToVector(row.vector),
        k: 10,
      });
      assert.ok(
        hits.some((hit) => hit.chunkId === row.id),
        `chunk ${row.id} is found`,
      );
      assert.ok((hits[0]?.score ?? 0) > 0.999);
    }
  } finally {
    db.close();
  }
}
