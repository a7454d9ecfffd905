import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";
import {
  NO_REAL_POSTGRES,
  realPostgresUrl,
  startTestDatabase,
  type TestDatabase,
} from "./support/postgres-database.ts";
import { delay, type ServerProcess, startServerProcess } from "./support/server-process.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call } from "./support/test-server.ts";

/** Polls a document until no upload of it is pending; returns its last state. */
async function settled(server: { url: string }, path: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(server, "GET", path);
    if (response.status === 200 && ["ready", "failed"].includes(response.body.status)) {
      return response.body;
    }
    if (Date.now() > deadline) return response.body;
    await delay(100);
  }
}

async function documentIds(server: { url: string }, query: string, mode: string) {
  const found = await call(server, "POST", "/v1/collections/default/search", {
    query,
    mode,
    k: 10,
  });
  assert.equal(found.status, 200, JSON.stringify(found.body));
  return found.body.data.map((hit: { document_id: string }) => hit.document_id);
}

/** How many requests answered each status, e.g. { "202": 190, "200": 10 }. */
function statusCounts(responses: { status: number }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

// replicas race through separate connections: only a real server (one session per connection)
// shows what they do; PGlite serves every connection from one session
describe("three Gleaner processes over one real PostgreSQL database", {
  skip: realPostgresUrl ? false : NO_REAL_POSTGRES,
}, () => {
  let database: TestDatabase;
  let openai: OpenAIServer;
  let first: ServerProcess;
  let second: ServerProcess;
  let third: ServerProcess;
  const dirs = [makeTempDir(), makeTempDir(), makeTempDir()];

  before(async () => {
    [database, openai] = await Promise.all([startTestDatabase(), startOpenAIServer()]);
    const env = (dataDir: string) => ({
      GLEANER_DATABASE_URL: database.url,
      GLEANER_DATABASE_POOL_SIZE: "4",
      // short leases so a killed replica's job is picked up within seconds
      GLEANER_JOB_LEASE_SECONDS: "2",
      GLEANER_DATA_DIR: dataDir,
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: openai.baseURL,
      GLEANER_OPENAI_MAX_RETRIES: "0",
    });
    // started together: migrations and the `default` collection are made once
    const [a, b, c] = await Promise.all(
      dirs.map((dir) => startServerProcess(env(dir.path), 90_000)),
    );
    assert.ok(a && b && c);
    [first, second, third] = [a, b, c];
  });

  after(async () => {
    for (const server of [first, second, third]) {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        await server.kill("SIGTERM");
      }
    }
    await openai?.close();
    await database?.close();
    for (const dir of dirs) dir.remove();
  });

  test("ingest through one replica, search and delete through the other", async () => {
    const created = await call(first, "POST", "/v1/collections/default/documents", {
      id: "shared-1",
      title: "Compressor stall",
      text: "Rotating stall in axial compressors precedes surge at low mass flow.",
      metadata: { team: "propulsion" },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, "ready");
    for (const mode of ["keyword", "vector", "hybrid"]) {
      assert.deepEqual(await documentIds(second, "compressor stall surge", mode), ["shared-1"]);
    }
    const filtered = await call(second, "POST", "/v1/collections/default/search", {
      query: "compressor",
      filter: { team: "propulsion" },
    });
    assert.equal(filtered.body.data[0]?.document_id, "shared-1");
    assert.equal(
      (await call(second, "DELETE", "/v1/collections/default/documents/shared-1")).status,
      204,
    );
    assert.equal(
      (await call(first, "GET", "/v1/collections/default/documents/shared-1")).status,
      404,
    );
    assert.deepEqual(await documentIds(first, "compressor stall surge", "keyword"), []);
  });

  test("concurrent uploads of the same document id through both replicas end with one version", async () => {
    const ids = ["race-a", "race-b", "race-c", "race-d"];
    const uploads = ids.flatMap((id) =>
      [first, second].map((server, i) =>
        call(server, "POST", "/v1/collections/default/documents?wait=false", {
          id,
          text: `Version ${i} of ${id}: token${i}${id.slice(-1)} describes nacelle icing.`,
        }),
      ),
    );
    // identical content from both sides as well: one job, one version
    uploads.push(
      ...[first, second].map((server) =>
        call(server, "POST", "/v1/collections/default/documents?wait=false", {
          id: "same",
          text: "Identical bytes uploaded through both replicas at once.",
        }),
      ),
    );
    for (const response of await Promise.all(uploads)) {
      assert.ok([200, 202].includes(response.status), JSON.stringify(response.body));
    }
    for (const id of [...ids, "same"]) {
      const document = await settled(first, `/v1/collections/default/documents/${id}`);
      assert.equal(document.status, "ready", JSON.stringify(document));
      assert.equal(document.chunk_count, 1);
    }
    for (const id of ids) {
      const hits = await call(second, "POST", "/v1/collections/default/search", {
        query: `token0${id.slice(-1)} token1${id.slice(-1)}`,
        mode: "keyword",
        k: 10,
      });
      const versions = hits.body.data.filter(
        (hit: { document_id: string }) => hit.document_id === id,
      );
      assert.equal(versions.length, 1, `exactly one version of ${id} is searchable`);
    }
    const listing = await call(second, "GET", "/v1/collections/default/documents?limit=100");
    const listed = listing.body.data.map((d: { id: string }) => d.id);
    assert.equal(new Set(listed).size, listed.length, "no duplicate documents");
    assert.equal(listing.body.data.filter((d: { id: string }) => d.id === "same").length, 1);
  });

  test("200 concurrent uploads of one id through two replicas: no 5xx, one version", async () => {
    const uploads = Array.from({ length: 200 }, (_, i) =>
      call(i % 2 === 0 ? first : second, "POST", "/v1/collections/default/documents?wait=false", {
        id: "contended",
        text: `Upload ${i} of the contended document: marker${i} fan blade containment.`,
      }),
    );
    const responses = await Promise.all(uploads);
    const failed = responses.filter((response) => ![200, 202].includes(response.status));
    assert.deepEqual(
      failed.map((response) => response.body),
      [],
      `statuses ${JSON.stringify(statusCounts(responses))}`,
    );
    const document = await settled(first, "/v1/collections/default/documents/contended", 60_000);
    assert.equal(document.status, "ready", JSON.stringify(document));
    assert.equal(document.chunk_count, 1);
    const rows = await database.query<{ documents: number; chunks: number; jobs: number }>(
      `SELECT (SELECT count(*)::int FROM documents WHERE external_id = 'contended') AS documents,
              (SELECT count(*)::int FROM chunks ch JOIN documents d ON d.key = ch.document_key
                 WHERE d.external_id = 'contended') AS chunks,
              (SELECT count(*)::int FROM jobs WHERE document_id = 'contended') AS jobs`,
    );
    assert.deepEqual(rows[0], { documents: 1, chunks: 1, jobs: 0 });
    const hits = await call(second, "POST", "/v1/collections/default/search", {
      query: "contended fan blade containment",
      mode: "keyword",
      k: 10,
    });
    assert.equal(hits.status, 200);
    assert.deepEqual(
      hits.body.data.map((hit: { document_id: string }) => hit.document_id),
      ["contended"],
    );
  });

  test("the same id uploaded through three replicas at once, new and existing", async () => {
    for (const round of [0, 1]) {
      const responses = await Promise.all(
        [first, second, third].flatMap((server, i) =>
          ["tri-a", "tri-b"].map((id) =>
            call(server, "POST", "/v1/collections/default/documents", {
              id,
              text: `Round ${round}, replica ${i}: ${id} describes thrust reverser deployment.`,
            }),
          ),
        ),
      );
      for (const response of responses) {
        assert.ok([200, 201].includes(response.status), JSON.stringify(response.body));
      }
      for (const id of ["tri-a", "tri-b"]) {
        const document = await settled(third, `/v1/collections/default/documents/${id}`);
        assert.equal(document.status, "ready", JSON.stringify(document));
        assert.equal(document.chunk_count, 1);
      }
    }
    const listing = await call(third, "GET", "/v1/collections/default/documents?limit=100");
    const tri = listing.body.data.filter((d: { id: string }) => d.id.startsWith("tri-"));
    assert.equal(tri.length, 2);
  });

  test("a replica killed mid-ingest leaves its job to the other once the lease expires", async () => {
    const collection = await call(second, "POST", "/v1/collections", {
      name: "remote",
      embedding: { provider: "openai" },
    });
    assert.equal(collection.status, 201, JSON.stringify(collection.body));
    // the first replica's embedding request hangs, so it is mid-ingest when killed
    openai.injectFaults([{ path: "/v1/embeddings", delayMs: 60_000, times: 1 }]);
    const before = openai.requestsTo("/v1/embeddings").length;
    const queued = await call(first, "POST", "/v1/collections/remote/documents?wait=false", {
      id: "orphan",
      text: "Bird strike certification requires the engine to keep thrust after ingestion.",
    });
    assert.equal(queued.status, 202);
    const deadline = Date.now() + 30_000;
    while (openai.requestsTo("/v1/embeddings").length === before && Date.now() < deadline) {
      await delay(50);
    }
    assert.ok(
      openai.requestsTo("/v1/embeddings").length > before,
      "the first replica began embedding",
    );
    assert.equal(
      (await call(second, "GET", "/v1/collections/remote/documents/orphan")).body.status,
      "processing",
    );
    await first.kill("SIGKILL");
    const document = await settled(second, "/v1/collections/remote/documents/orphan", 40_000);
    assert.equal(document.status, "ready", JSON.stringify(document));
    const found = await call(second, "POST", "/v1/collections/remote/search", {
      query: "bird strike thrust",
      mode: "keyword",
    });
    assert.equal(found.body.data[0]?.document_id, "orphan");
  });
});
