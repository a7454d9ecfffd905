import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JobCompletions } from "../src/ingest/job-completions.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { putDocument } from "./support/store-contract.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

describe("job completions", () => {
  const dir = makeTempDir();
  const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });
  before(async () => {
    await store.open();
    await store.createCollection({
      name: "c",
      description: "",
      embedding: { provider: "local", model: "test", dimensions: 8 },
      chunking: { maxTokens: 64, overlapTokens: 8 },
    });
  });
  after(async () => {
    await store.close();
    dir.remove();
  });

  test("a job that finished before anyone waited still releases its waiter", async () => {
    const completions = new JobCompletions(store);
    completions.expect(7, { collection: "c", documentId: "x" });
    completions.settle(7, { document: null, error: null });
    assert.deepEqual(await completions.wait(7), { document: null, error: null });
  });

  test("a discarded upload this process is failing is not reported as removed", async () => {
    const completions = new JobCompletions(store, 5);
    completions.expect(11, { collection: "c", documentId: "never-stored" });
    const waiting = completions.wait(11);
    // the store has no such document, as after a failed upload was discarded but before settle()
    completions.settlingHere(11);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = { type: "unprocessable" as const, message: "encrypted", param: "file" };
    completions.settle(11, { document: null, error: refused });
    assert.deepEqual((await waiting).error, refused);
    completions.close();
  });

  test("a job finished by another process is seen through the store", async () => {
    const completions = new JobCompletions(store, 20);
    // queue and commit the document directly in the store, as another replica would
    const queued = await store.enqueueIngest({
      collection: "c",
      documentId: "elsewhere",
      title: null,
      metadata: {},
      source: { filename: null, mediaType: "text/plain", bytes: 1, sha256: "a".repeat(64) },
      payload: new TextEncoder().encode("a"),
    });
    assert.ok(queued.jobId !== null);
    completions.expect(queued.jobId, { collection: "c", documentId: "elsewhere" });
    const waiting = completions.wait(queued.jobId);
    await store.deleteDocument("c", "elsewhere");
    await putDocument(store, {
      collection: "c",
      id: "elsewhere",
      texts: [{ text: "done", axis: 1 }],
    });
    const outcome = await waiting;
    assert.equal(outcome.document?.status, "ready");
    assert.equal(outcome.error, null);
    completions.close();
  });
});

describe("bulk upload with wait=true", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  test("hundreds of documents in one request all come back ready", async () => {
    const documents = Array.from({ length: 400 }, (_, i) => ({
      id: `bulk-${i}`,
      text: `Document number ${i} about flow ${i % 7} and pressure ${i % 11}.`,
    }));
    const response = await call(server, "POST", "/v1/collections/default/documents", { documents });
    assert.equal(response.status, 201);
    assert.equal(response.body.data.length, 400);
    assert.ok(response.body.data.every((d: { status: string }) => d.status === "ready"));
  });
});
