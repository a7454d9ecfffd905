import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pino } from "pino";
import { createRuntime } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { runGleaner } from "./support/server-process.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer } from "./support/test-server.ts";

const topics = ["boundary layer transition", "shock wave reflection", "panel flutter", "jet noise"];

function documents(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    text: `${prefix}marker${i} ${topics[i % topics.length]} measured in the wind tunnel, run ${i}.`,
  }));
}

/** The real server over a given data directory, in this process. */
async function serveInProcess(dataDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig({ GLEANER_DATA_DIR: dataDir, PORT: "0" });
  const running = await startServer(createRuntime(config, { logger: pino({ level: "silent" }) }));
  return { url: `http://127.0.0.1:${running.port}`, close: () => running.close() };
}

describe("backup and restore", () => {
  const directories: { path: string; remove(): void }[] = [];
  const temp = () => {
    const directory = makeTempDir("gleaner-backup-");
    directories.push(directory);
    return directory.path;
  };
  after(() => {
    for (const directory of directories) directory.remove();
  });

  test("SqliteStore.backup copies a consistent store while uploads continue", async () => {
    const server = await startTestServer();
    try {
      const first = documents("early", 30);
      assert.equal(
        (await call(server, "POST", "/v1/collections/default/documents", { documents: first }))
          .status,
        201,
      );
      const store = server.runtime.services.store as SqliteStore;
      const destination = join(temp(), "snapshot");
      const concurrent = call(server, "POST", "/v1/collections/default/documents", {
        documents: documents("late", 30),
      });
      const report = await store.backup(destination);
      assert.equal((await concurrent).status, 201);
      assert.ok(report.files.includes("gleaner.db"));
      assert.ok(report.files.some((file) => file.startsWith("indexes/")));
      assert.ok(report.bytes > 0);
      await assert.rejects(store.backup(destination), /not empty/);

      const copy = new SqliteStore({ dataDir: destination, indexSaveIntervalMs: 0 });
      await copy.open();
      try {
        const listed = await copy.listDocuments("default", { limit: 1000 });
        const ids = new Set(listed.documents.map((d) => d.id));
        for (const document of first) assert.ok(ids.has(document.id), document.id);
        // whatever of the concurrent upload made it in is whole: ready with its chunks, or
        // still queued with its job (which the restored service would then process)
        let pending = 0;
        for (const document of listed.documents) {
          if (document.status === "ready") assert.ok(document.chunkCount > 0);
          else pending += 1;
          assert.notEqual(document.status, "failed");
        }
        assert.ok((await copy.countQueuedJobs()) >= pending);
        const hits = await copy.keywordSearch({
          collection: "default",
          text: "earlymarker7",
          k: 3,
        });
        const chunks = await copy.getChunks(hits.map((hit) => hit.chunkId));
        assert.equal(chunks[0]?.documentId, "early-7");
      } finally {
        await copy.close();
      }
    } finally {
      await server.close();
    }
  });

  test("gleaner backup while serving, gleaner restore, then search the restored data", async () => {
    const dataDir = temp();
    const server = await serveInProcess(dataDir);
    const url = `${server.url}/v1/collections/default/documents`;
    const upload = async (body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    assert.equal((await upload({ documents: documents("kept", 40) })).status, 201);

    const file = join(temp(), "gleaner.backup");
    const streaming = upload({ documents: documents("during", 200) });
    const backup = await runGleaner(["backup", file], { GLEANER_DATA_DIR: dataDir });
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /Backed up \d+ files/);
    assert.equal((await streaming).status, 201);
    await server.close();

    const restoredDir = join(temp(), "restored");
    const restore = await runGleaner(["restore", file], { GLEANER_DATA_DIR: restoredDir });
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok(existsSync(join(restoredDir, "gleaner.db")));

    const again = await runGleaner(["restore", file], { GLEANER_DATA_DIR: restoredDir });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already holds a Gleaner database/);

    const restored = await serveInProcess(restoredDir);
    const search = await fetch(`${restored.url}/v1/collections/default/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "keptmarker12", mode: "keyword", k: 3 }),
    });
    const body: any = await search.json();
    assert.equal(body.data[0]?.document_id, "kept-12");
    const vector = await fetch(`${restored.url}/v1/collections/default/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: documents("kept", 40)[21]?.text, mode: "vector", k: 5 }),
    });
    const vectorBody: any = await vector.json();
    assert.ok(vectorBody.data.some((hit: any) => hit.document_id === "kept-21"));
    const listed: any = await (
      await fetch(`${url.replace(server.url, restored.url)}?limit=1000`)
    ).json();
    for (const document of listed.data) assert.equal(document.status, "ready");
    assert.ok(listed.data.length >= 40);
    await restored.close();
  });

  test("restore refuses a file that is not a backup and leaves the directory empty", async () => {
    const bogus = join(temp(), "not-a-backup.tar");
    writeFileSync(bogus, Buffer.alloc(4096, 7));
    const target = join(temp(), "target");
    const result = await runGleaner(["restore", bogus], { GLEANER_DATA_DIR: target });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not a Gleaner backup/);
    assert.deepEqual(existsSync(target) ? readdirSync(target) : [], []);
  });
});
