import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type {
  ChunkInput,
  FilterExpression,
  IngestResult,
  NewCollection,
  Store,
} from "../../src/store/store.ts";

export interface StoreHarness {
  store: Store;
  /** Closes the store and opens it again over the same data (a restart). */
  reopen(): Promise<Store>;
  dispose(): Promise<void>;
}

const DIMENSIONS = 8;

/** A unit vector pointing mostly along one axis, so nearest neighbours are predictable. */
export function axisVector(axis: number, wobble = 0): Float32Array {
  const vector = new Float32Array(DIMENSIONS).fill(0.01);
  vector[axis % DIMENSIONS] = 1;
  vector[(axis + 1) % DIMENSIONS] = wobble;
  let norm = 0;
  for (const value of vector) norm += value * value;
  return vector.map((value) => value / Math.sqrt(norm));
}

const collection = (name: string): NewCollection => ({
  name,
  description: `contract ${name}`,
  embedding: { provider: "local", model: "test", dimensions: DIMENSIONS },
  chunking: { maxTokens: 64, overlapTokens: 8 },
});

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

function chunk(text: string, axis: number, charStart = 0): ChunkInput {
  return {
    text,
    charStart,
    charEnd: charStart + text.length,
    pageStart: 1,
    pageEnd: 1,
    tokenCount: text.split(" ").length,
    vector: axisVector(axis),
  };
}

/** Queues and commits a document in one go, as the ingest worker does. */
export async function putDocument(
  store: Store,
  input: {
    collection: string;
    id: string;
    texts: { text: string; axis: number }[];
    metadata?: Record<string, unknown>;
    title?: string;
  },
): Promise<void> {
  const content = input.texts.map((t) => t.text).join("\n");
  const queued = await store.enqueueIngest({
    collection: input.collection,
    documentId: input.id,
    title: input.title ?? input.id,
    metadata: input.metadata ?? {},
    source: {
      filename: null,
      mediaType: "text/plain",
      bytes: content.length,
      sha256: sha(content),
    },
    payload: new TextEncoder().encode(content),
  });
  if (queued.jobId === null) return;
  const job = await store.claimNextJob();
  assert.ok(job, "a queued job can be claimed");
  let offset = 0;
  const chunks = input.texts.map(({ text, axis }) => {
    const made = chunk(text, axis, offset);
    offset += text.length + 1;
    return made;
  });
  const result: IngestResult = {
    jobId: job.jobId,
    collection: job.collection,
    documentId: job.documentId,
    title: job.title,
    pageCount: 1,
    tokenCount: 10,
    embeddingTokens: 10,
    chunks,
  };
  await store.commitIngest(result);
}

/** The behaviour every Store backend must show; run by each backend's own test file. */
export function runStoreContract(
  backend: string,
  createHarness: () => Promise<StoreHarness>,
): void {
  describe(`Store contract: ${backend}`, () => {
    let harness: StoreHarness;
    let store: Store;

    before(async () => {
      harness = await createHarness();
      store = harness.store;
    });
    after(async () => {
      await harness.dispose();
    });

    test("collections: create, get, list, conflict, delete", async () => {
      const created = await store.createCollection(collection("c-basic"));
      assert.equal(created.name, "c-basic");
      assert.equal(created.documentCount, 0);
      await assert.rejects(store.createCollection(collection("c-basic")), { type: "conflict" });
      const fetched = await store.getCollection("c-basic");
      assert.deepEqual(fetched?.embedding, {
        provider: "local",
        model: "test",
        dimensions: DIMENSIONS,
      });
      const names = (await store.listCollections()).map((c) => c.name);
      assert.ok(names.includes("c-basic"));
      assert.equal(await store.deleteCollection("c-basic"), true);
      assert.equal(await store.getCollection("c-basic"), null);
      assert.equal(await store.deleteCollection("c-basic"), false);
    });

    test("unknown collection is not_found for document operations", async () => {
      await assert.rejects(store.getDocument("nope", "x"), { type: "not_found" });
      await assert.rejects(store.keywordSearch({ collection: "nope", text: "a", k: 1 }), {
        type: "not_found",
      });
    });

    test("listDocumentChunks: a document's chunks in reading order, none for others", async () => {
      await store.createCollection(collection("c-read"));
      const texts = ["first part", "second part", "third part"];
      await putDocument(store, {
        collection: "c-read",
        id: "reader",
        texts: texts.map((text, axis) => ({ text, axis })),
      });
      await putDocument(store, {
        collection: "c-read",
        id: "other",
        texts: [{ text: "x", axis: 1 }],
      });
      const chunks = await store.listDocumentChunks("c-read", "reader");
      assert.deepEqual(
        chunks.map((c) => [c.text, c.charStart, c.ordinal, c.documentId]),
        [
          ["first part", 0, 0, "reader"],
          ["second part", 11, 1, "reader"],
          ["third part", 23, 2, "reader"],
        ],
      );
      assert.deepEqual(await store.listDocumentChunks("c-read", "missing"), []);
      await assert.rejects(store.listDocumentChunks("nope", "reader"), { type: "not_found" });
    });

    test("ingest lifecycle: queued → processing → ready, counted in the collection", async () => {
      await store.createCollection(collection("c-life"));
      const queued = await store.enqueueIngest({
        collection: "c-life",
        documentId: "doc-1",
        title: "Doc one",
        metadata: { team: "a" },
        source: { filename: "a.txt", mediaType: "text/plain", bytes: 5, sha256: sha("hello") },
        payload: new TextEncoder().encode("hello"),
      });
      assert.equal(queued.document.status, "queued");
      assert.ok(queued.jobId !== null);
      const job = await store.claimNextJob();
      assert.equal(job?.documentId, "doc-1");
      assert.equal(new TextDecoder().decode(job?.payload), "hello");
      assert.equal((await store.getDocument("c-life", "doc-1"))?.status, "processing");
      assert.equal(await store.claimNextJob(), null, "a running job is not claimed twice");
      const ready = await store.commitIngest({
        jobId: job?.jobId as number,
        collection: "c-life",
        documentId: "doc-1",
        title: "Doc one",
        pageCount: null,
        tokenCount: 1,
        embeddingTokens: 1,
        chunks: [chunk("hello", 0)],
      });
      assert.equal(ready?.status, "ready");
      assert.equal(ready?.chunkCount, 1);
      assert.deepEqual(ready?.metadata, { team: "a" });
      const stats = await store.getCollection("c-life");
      assert.equal(stats?.documentCount, 1);
      assert.equal(stats?.chunkCount, 1);
      assert.equal(await store.countQueuedJobs(), 0);
    });

    test("same id and same content is a no-op; new content replaces atomically", async () => {
      await store.createCollection(collection("c-idem"));
      await putDocument(store, {
        collection: "c-idem",
        id: "d",
        texts: [{ text: "alpha beta", axis: 1 }],
      });
      const again = await store.enqueueIngest({
        collection: "c-idem",
        documentId: "d",
        title: "d",
        metadata: {},
        source: { filename: null, mediaType: "text/plain", bytes: 10, sha256: sha("alpha beta") },
        payload: new TextEncoder().encode("alpha beta"),
      });
      assert.equal(again.jobId, null, "identical content queues nothing");
      assert.equal(again.document.status, "ready");

      await putDocument(store, {
        collection: "c-idem",
        id: "d",
        texts: [{ text: "gamma delta", axis: 2 }],
      });
      const alpha = await store.keywordSearch({ collection: "c-idem", text: "alpha", k: 5 });
      const gamma = await store.keywordSearch({ collection: "c-idem", text: "gamma", k: 5 });
      assert.equal(alpha.length, 0, "old chunks are gone after replace");
      assert.equal(gamma.length, 1);
      const nearest = await store.vectorSearch({
        collection: "c-idem",
        vector: axisVector(1),
        k: 5,
      });
      assert.ok(
        nearest.every((hit) => hit.chunkId === gamma[0]?.chunkId),
        "the vector index holds only the new version",
      );
    });

    test("a superseded job is dropped at commit; the newest upload wins", async () => {
      await store.createCollection(collection("c-race"));
      const upload = (text: string) =>
        store.enqueueIngest({
          collection: "c-race",
          documentId: "d",
          title: null,
          metadata: {},
          source: {
            filename: null,
            mediaType: "text/plain",
            bytes: text.length,
            sha256: sha(text),
          },
          payload: new TextEncoder().encode(text),
        });
      await upload("first version");
      const first = await store.claimNextJob();
      await upload("second version");
      const dropped = await store.commitIngest({
        jobId: first?.jobId as number,
        collection: "c-race",
        documentId: "d",
        title: null,
        pageCount: null,
        tokenCount: 2,
        embeddingTokens: 2,
        chunks: [chunk("first version", 3)],
      });
      assert.equal(dropped, null);
      const second = await store.claimNextJob();
      assert.equal(new TextDecoder().decode(second?.payload), "second version");
      const done = await store.commitIngest({
        jobId: second?.jobId as number,
        collection: "c-race",
        documentId: "d",
        title: null,
        pageCount: null,
        tokenCount: 2,
        embeddingTokens: 2,
        chunks: [chunk("second version", 3)],
      });
      assert.equal(done?.status, "ready");
      assert.equal(
        (await store.keywordSearch({ collection: "c-race", text: "first", k: 5 })).length,
        0,
      );
    });

    test("failure: a new document is marked failed (or discarded); a replaced one keeps its version", async () => {
      await store.createCollection(collection("c-fail"));
      const enqueue = (id: string, text: string) =>
        store.enqueueIngest({
          collection: "c-fail",
          documentId: id,
          title: null,
          metadata: {},
          source: {
            filename: null,
            mediaType: "text/plain",
            bytes: text.length,
            sha256: sha(text),
          },
          payload: new TextEncoder().encode(text),
        });
      const error = { type: "unprocessable" as const, message: "broken", param: null };
      await enqueue("new", "x");
      let job = await store.claimNextJob();
      const failed = await store.failIngest({
        jobId: job?.jobId as number,
        collection: "c-fail",
        documentId: "new",
        error,
        discardNewDocument: false,
      });
      assert.equal(failed?.status, "failed");
      assert.deepEqual(failed?.error, error);

      await enqueue("gone", "y");
      job = await store.claimNextJob();
      await store.failIngest({
        jobId: job?.jobId as number,
        collection: "c-fail",
        documentId: "gone",
        error,
        discardNewDocument: true,
      });
      assert.equal(await store.getDocument("c-fail", "gone"), null);

      await putDocument(store, {
        collection: "c-fail",
        id: "kept",
        texts: [{ text: "kept words", axis: 4 }],
      });
      await enqueue("kept", "replacement that fails");
      job = await store.claimNextJob();
      const kept = await store.failIngest({
        jobId: job?.jobId as number,
        collection: "c-fail",
        documentId: "kept",
        error,
        discardNewDocument: true,
      });
      assert.equal(kept?.status, "ready");
      assert.equal(
        (await store.keywordSearch({ collection: "c-fail", text: "kept", k: 5 })).length,
        1,
      );
    });

    test("keyword and vector search rank, filter inside retrieval, and respect k", async () => {
      await store.createCollection(collection("c-search"));
      for (let i = 0; i < 30; i++) {
        await putDocument(store, {
          collection: "c-search",
          id: `doc-${String(i).padStart(2, "0")}`,
          texts: [
            {
              text: `common words plus unique${i} ${i % 3 === 0 ? "turbine" : "wing"}`,
              axis: i % 8,
            },
          ],
          metadata: {
            group: i % 3 === 0 ? "engines" : "airframe",
            year: 2000 + (i % 5),
            flag: i % 2 === 0,
          },
        });
      }
      const unique = await store.keywordSearch({ collection: "c-search", text: "unique7", k: 10 });
      assert.equal(unique.length, 1);
      const [chunk7] = await store.getChunks(unique.map((hit) => hit.chunkId));
      assert.equal(chunk7?.documentId, "doc-07");

      const turbine = await store.keywordSearch({
        collection: "c-search",
        text: "turbine common",
        k: 5,
      });
      assert.equal(turbine.length, 5, "k bounds the result count");
      const turbineChunks = await store.getChunks(turbine.map((hit) => hit.chunkId));
      assert.ok(
        turbineChunks.every((c) => c.text.includes("turbine")),
        "rarer term ranks its documents first",
      );

      const filtered = await store.keywordSearch({
        collection: "c-search",
        text: "common",
        k: 100,
        filter: { group: "engines" },
      });
      assert.equal(filtered.length, 10);
      const inFilter = await store.keywordSearch({
        collection: "c-search",
        text: "common",
        k: 100,
        filter: { year: { $in: [2001, 2003] }, flag: true },
      });
      const inChunks = await store.getChunks(inFilter.map((hit) => hit.chunkId));
      assert.ok(inChunks.length > 0);
      assert.ok(
        inChunks.every(
          (c) => [2001, 2003].includes(c.metadata.year as number) && c.metadata.flag === true,
        ),
      );
      const typed = await store.keywordSearch({
        collection: "c-search",
        text: "common",
        k: 100,
        filter: { year: "2001" },
      });
      assert.equal(typed.length, 0, "a string does not match a number");

      const nearest = await store.vectorSearch({
        collection: "c-search",
        vector: axisVector(5),
        k: 3,
      });
      assert.equal(nearest.length, 3);
      const nearestChunks = await store.getChunks(nearest.map((hit) => hit.chunkId));
      assert.ok(nearestChunks.every((c) => Number(c.documentId.slice(4)) % 8 === 5));
      assert.ok((nearest[0]?.score ?? 0) > 0.99);

      const vectorFiltered = await store.vectorSearch({
        collection: "c-search",
        vector: axisVector(5),
        k: 4,
        filter: { group: "engines" },
      });
      assert.equal(vectorFiltered.length, 4, "a filter still yields k results when k match");
      const vfChunks = await store.getChunks(vectorFiltered.map((hit) => hit.chunkId));
      assert.ok(vfChunks.every((c) => c.metadata.group === "engines"));
      const none = await store.vectorSearch({
        collection: "c-search",
        vector: axisVector(5),
        k: 4,
        filter: { group: { $in: [] } },
      });
      assert.equal(none.length, 0);
    });

    test("OpenAI filters: every operator, nested and/or, typed, inside both retrievers", async () => {
      await store.createCollection(collection("c-filters"));
      const metadataOf = (i: number): Record<string, unknown> => ({
        region: ["north", "south", "east", "west"][i % 4],
        year: 2020 + (i % 6),
        score: i / 4,
        draft: i % 3 === 0,
        // the same key holds a number in some documents and a string in others
        code: i % 2 === 0 ? i : String(i),
        ...(i % 5 === 0 ? {} : { optional: "present" }),
        'odd "key"': i % 7,
      });
      for (let i = 0; i < 24; i++) {
        await putDocument(store, {
          collection: "c-filters",
          id: `f-${String(i).padStart(2, "0")}`,
          texts: [{ text: `shared filter text item${i}`, axis: i % 8 }],
          metadata: metadataOf(i),
        });
      }
      const cases: { filter: FilterExpression; expected: number[] }[] = [];
      const all = Array.from({ length: 24 }, (_, i) => i);
      const where = (filter: FilterExpression, predicate: (i: number) => boolean) =>
        cases.push({ filter, expected: all.filter(predicate) });
      const year = (i: number) => 2020 + (i % 6);
      where({ type: "eq", key: "region", value: "north" }, (i) => i % 4 === 0);
      where({ type: "ne", key: "region", value: "north" }, (i) => i % 4 !== 0);
      where({ type: "gt", key: "year", value: 2022 }, (i) => year(i) > 2022);
      where({ type: "gte", key: "year", value: 2022 }, (i) => year(i) >= 2022);
      where({ type: "lt", key: "score", value: 2.5 }, (i) => i / 4 < 2.5);
      where({ type: "lte", key: "score", value: 2.5 }, (i) => i / 4 <= 2.5);
      where({ type: "gt", key: "region", value: "north" }, (i) =>
        ["south", "west"].includes(["north", "south", "east", "west"][i % 4] as string),
      );
      where({ type: "in", key: "year", value: [2020, 2025] }, (i) =>
        [2020, 2025].includes(year(i)),
      );
      where(
        { type: "nin", key: "year", value: [2020, 2025] },
        (i) => ![2020, 2025].includes(year(i)),
      );
      where({ type: "eq", key: "draft", value: true }, (i) => i % 3 === 0);
      where({ type: "ne", key: "draft", value: true }, (i) => i % 3 !== 0);
      // typed: numbers compare only with numbers, strings only with strings
      where({ type: "gt", key: "code", value: 10 }, (i) => i % 2 === 0 && i > 10);
      where({ type: "eq", key: "code", value: "7" }, (i) => i === 7);
      where({ type: "eq", key: "code", value: 7 }, () => false);
      where({ type: "ne", key: "code", value: 4 }, (i) => i % 2 === 0 && i !== 4);
      where({ type: "eq", key: "year", value: "2020" }, () => false);
      where({ type: "in", key: "code", value: [3, "3", 4] }, (i) => i === 3 || i === 4);
      // a missing key matches nothing, ne included
      where({ type: "ne", key: "optional", value: "absent" }, (i) => i % 5 !== 0);
      where({ type: "eq", key: 'odd "key"', value: 3 }, (i) => i % 7 === 3);
      where(
        {
          type: "and",
          filters: [
            { type: "gte", key: "year", value: 2021 },
            {
              type: "or",
              filters: [
                { type: "eq", key: "region", value: "east" },
                { type: "eq", key: "draft", value: true },
              ],
            },
          ],
        },
        (i) => year(i) >= 2021 && (i % 4 === 2 || i % 3 === 0),
      );
      where({ type: "or", filters: [] }, () => false);
      where({ type: "in", key: "region", value: [] }, () => false);
      for (const { filter, expected } of cases) {
        const label = JSON.stringify(filter);
        const keyword = await store.keywordSearch({
          collection: "c-filters",
          text: "shared filter",
          k: 100,
          filter,
        });
        const vector = await store.vectorSearch({
          collection: "c-filters",
          vector: axisVector(3),
          k: 100,
          filter,
        });
        for (const [name, hits] of [
          ["keyword", keyword],
          ["vector", vector],
        ] as const) {
          const chunks = await store.getChunks(hits.map((hit) => hit.chunkId));
          const found = chunks.map((c) => Number(c.documentId.slice(2))).sort((a, b) => a - b);
          assert.deepEqual(found, expected, `${name} search with ${label}`);
        }
      }
      // the native spelling and its OpenAI equivalent agree
      const native = await store.keywordSearch({
        collection: "c-filters",
        text: "shared",
        k: 100,
        filter: { region: "south", year: { $in: [2021, 2023] } },
      });
      const openai = await store.keywordSearch({
        collection: "c-filters",
        text: "shared",
        k: 100,
        filter: {
          type: "and",
          filters: [
            { type: "eq", key: "region", value: "south" },
            { type: "in", key: "year", value: [2021, 2023] },
          ],
        },
      });
      assert.deepEqual(
        native.map((hit) => hit.chunkId).sort(),
        openai.map((hit) => hit.chunkId).sort(),
      );
      assert.ok(native.length > 0);
    });

    test("metadata updates keep chunks and vectors; a job carries its own chunking", async () => {
      await store.createCollection(collection("c-meta"));
      await putDocument(store, {
        collection: "c-meta",
        id: "m",
        texts: [{ text: "metadata update words", axis: 2 }],
        metadata: { stage: "draft" },
      });
      const before = await store.keywordSearch({ collection: "c-meta", text: "update", k: 5 });
      const updated = await store.updateDocumentMetadata("c-meta", "m", { stage: "final", n: 3 });
      assert.deepEqual(updated?.metadata, { stage: "final", n: 3 });
      assert.equal(updated?.chunkCount, 1);
      const after = await store.keywordSearch({
        collection: "c-meta",
        text: "update",
        k: 5,
        filter: { type: "eq", key: "stage", value: "final" },
      });
      assert.deepEqual(
        after.map((hit) => hit.chunkId),
        before.map((hit) => hit.chunkId),
        "same chunks, now found by the new metadata",
      );
      assert.equal(await store.updateDocumentMetadata("c-meta", "missing", {}), null);

      const queued = await store.enqueueIngest({
        collection: "c-meta",
        documentId: "chunked",
        title: null,
        metadata: { stage: "queued" },
        source: { filename: null, mediaType: "text/plain", bytes: 4, sha256: sha("text") },
        payload: new TextEncoder().encode("text"),
        chunking: { maxTokens: 120, overlapTokens: 20 },
      });
      assert.ok(queued.jobId !== null);
      // attributes changed while the upload waits are the ones its commit keeps
      await store.updateDocumentMetadata("c-meta", "chunked", { stage: "changed" });
      const job = await store.claimNextJob();
      assert.deepEqual(job?.chunking, { maxTokens: 120, overlapTokens: 20 });
      assert.deepEqual(job?.metadata, { stage: "changed" });
      await store.failIngest({
        jobId: job?.jobId as number,
        collection: "c-meta",
        documentId: "chunked",
        error: { type: "unprocessable", message: "test", param: null },
        discardNewDocument: true,
      });
    });

    test("OpenAI objects: put, get, content, list in creation order, delete", async () => {
      const file = {
        kind: "file",
        parent: "",
        id: "file-1",
        createdAt: 1_700_000_000,
        body: { a: 1 },
      };
      await store.putOpenAIObject(file, new Uint8Array([1, 2, 3]));
      await store.putOpenAIObject({ ...file, id: "file-2", body: { a: 2 } });
      await store.putOpenAIObject({
        kind: "vs_file",
        parent: "vs_1",
        id: "file-1",
        createdAt: 5,
        body: {},
      });
      await store.putOpenAIObject({
        kind: "vs_file",
        parent: "vs_2",
        id: "file-1",
        createdAt: 6,
        body: {},
      });
      assert.deepEqual(await store.getOpenAIObject("file", "", "file-1"), file);
      assert.deepEqual(
        [...((await store.getOpenAIContent("file", "", "file-1")) ?? [])],
        [1, 2, 3],
      );
      assert.equal(await store.getOpenAIContent("file", "", "file-2"), null);
      // replacing the body keeps the content
      await store.putOpenAIObject({ ...file, body: { a: 3 } });
      assert.deepEqual((await store.getOpenAIObject("file", "", "file-1"))?.body, { a: 3 });
      assert.deepEqual(
        [...((await store.getOpenAIContent("file", "", "file-1")) ?? [])],
        [1, 2, 3],
      );
      assert.deepEqual(
        (await store.listOpenAIObjects({ kind: "file" })).map((o) => o.id),
        ["file-1", "file-2"],
      );
      assert.deepEqual(
        (await store.listOpenAIObjects({ kind: "vs_file", id: "file-1" })).map((o) => o.parent),
        ["vs_1", "vs_2"],
      );
      assert.equal(await store.deleteOpenAIObjects({ kind: "vs_file", parent: "vs_1" }), 1);
      assert.equal(await store.deleteOpenAIObjects({ kind: "file", id: "file-1" }), 1);
      assert.equal(await store.getOpenAIObject("file", "", "file-1"), null);
      assert.equal((await store.listOpenAIObjects({ kind: "vs_file" })).length, 1);
    });

    test("keyword search treats user text as words, never as query syntax", async () => {
      await store.createCollection(collection("c-syntax"));
      await putDocument(store, {
        collection: "c-syntax",
        id: "q",
        texts: [{ text: "near and not or", axis: 0 }],
      });
      for (const text of ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "col:umn*", "^start", "()"]) {
        const hits = await store.keywordSearch({ collection: "c-syntax", text, k: 5 });
        assert.ok(Array.isArray(hits), `query ${text} does not throw`);
      }
      assert.deepEqual(
        await store.keywordSearch({ collection: "c-syntax", text: "   ", k: 5 }),
        [],
      );
    });

    test("averageKeywordLength, where offered, is a mean over the indexed chunks", async () => {
      if (!store.averageKeywordLength) return; // optional: search estimates it from candidates
      await store.createCollection(collection("c-avglen"));
      await putDocument(store, {
        collection: "c-avglen",
        id: "a",
        texts: [
          { text: "one two three four", axis: 0 },
          { text: "five six", axis: 1 },
        ],
      });
      // the scope may be wider than the collection (SQLite: the whole installation), so only
      // its sanity is part of the contract
      const average = await store.averageKeywordLength("c-avglen");
      assert.ok(Number.isFinite(average) && average > 0, `average ${average}`);
      await assert.rejects(store.averageKeywordLength("nope"), { type: "not_found" });
    });

    test("vector search rejects a vector of the wrong dimension", async () => {
      await store.createCollection(collection("c-dims"));
      await assert.rejects(
        store.vectorSearch({ collection: "c-dims", vector: new Float32Array(3), k: 1 }),
        { type: "invalid_request" },
      );
    });

    test("delete removes a document from keyword and vector search", async () => {
      await store.createCollection(collection("c-del"));
      await putDocument(store, {
        collection: "c-del",
        id: "a",
        texts: [{ text: "zeppelin airship", axis: 6 }],
      });
      await putDocument(store, {
        collection: "c-del",
        id: "b",
        texts: [{ text: "glider", axis: 2 }],
      });
      assert.equal(await store.deleteDocument("c-del", "a"), true);
      assert.equal(await store.deleteDocument("c-del", "a"), false);
      assert.equal(
        (await store.keywordSearch({ collection: "c-del", text: "zeppelin", k: 5 })).length,
        0,
      );
      const nearest = await store.vectorSearch({
        collection: "c-del",
        vector: axisVector(6),
        k: 5,
      });
      const docs = (await store.getChunks(nearest.map((hit) => hit.chunkId))).map(
        (c) => c.documentId,
      );
      assert.deepEqual(docs, ["b"]);
      assert.equal((await store.getCollection("c-del"))?.documentCount, 1);
    });

    test("list documents pages with a cursor", async () => {
      await store.createCollection(collection("c-list"));
      for (const id of ["e", "a", "d", "b", "c"]) {
        await putDocument(store, {
          collection: "c-list",
          id,
          texts: [{ text: `text ${id}`, axis: 0 }],
        });
      }
      const first = await store.listDocuments("c-list", { limit: 2 });
      assert.deepEqual(
        first.documents.map((d) => d.id),
        ["a", "b"],
      );
      assert.equal(first.hasMore, true);
      const rest = await store.listDocuments("c-list", { limit: 10, after: "b" });
      assert.deepEqual(
        rest.documents.map((d) => d.id),
        ["c", "d", "e"],
      );
      assert.equal(rest.hasMore, false);
    });

    test("embedding cache stores and returns vectors by model and text hash", async () => {
      const key = { provider: "local", model: "test", dimensions: DIMENSIONS };
      await store.putCachedEmbeddings(key, [{ textHash: sha("x"), vector: axisVector(3) }]);
      const found = await store.getCachedEmbeddings(key, [sha("x"), sha("y")]);
      assert.equal(found.size, 1);
      assert.deepEqual([...(found.get(sha("x")) ?? [])], [...axisVector(3)]);
      const otherModel = await store.getCachedEmbeddings({ ...key, model: "other" }, [sha("x")]);
      assert.equal(otherModel.size, 0);
    });

    test("interrupted jobs are requeued after a restart; everything committed survives", async () => {
      await store.createCollection(collection("c-restart"));
      await putDocument(store, {
        collection: "c-restart",
        id: "kept",
        texts: [{ text: "durable words", axis: 7 }],
      });
      await store.enqueueIngest({
        collection: "c-restart",
        documentId: "interrupted",
        title: null,
        metadata: {},
        source: { filename: null, mediaType: "text/plain", bytes: 3, sha256: sha("abc") },
        payload: new TextEncoder().encode("abc"),
      });
      await store.claimNextJob();
      store = await harness.reopen();
      assert.equal((await store.getDocument("c-restart", "interrupted"))?.status, "processing");
      assert.equal(await store.requeueInterruptedJobs(), 1);
      assert.equal((await store.getDocument("c-restart", "interrupted"))?.status, "queued");
      const job = await store.claimNextJob();
      assert.equal(job?.documentId, "interrupted");
      assert.equal(job?.attempts, 2);
      assert.equal(
        (await store.keywordSearch({ collection: "c-restart", text: "durable", k: 5 })).length,
        1,
      );
      const nearest = await store.vectorSearch({
        collection: "c-restart",
        vector: axisVector(7),
        k: 1,
      });
      assert.equal((await store.getChunks(nearest.map((h) => h.chunkId)))[0]?.documentId, "kept");
    });
  });
}
