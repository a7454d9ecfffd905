import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultPdfWorkerPool } from "../src/ingest/parsers/pdf-parser.ts";
import { makePdf } from "./support/pdf-fixtures.ts";
import { call, startTestServer, type TestServer, uploadFile } from "./support/test-server.ts";

const directory = new URL("../../shared/pdfs/", import.meta.url);
const manifest = new URL("manifest.tsv", directory);
const available = existsSync(fileURLToPath(manifest));
const MiB = 1024 * 1024;

function manifestRows(): { file: string; kind: string }[] {
  const [, ...lines] = readFileSync(manifest, "utf8").trim().split("\n");
  return lines.map((line) => {
    const [file = "", , , , kind = ""] = line.split("\t");
    return { file, kind };
  });
}

/** What a client can see of the store: every collection and every document's state. */
async function snapshot(server: TestServer): Promise<string> {
  const collections = (await call(server, "GET", "/v1/collections")).body.data;
  const parts: unknown[] = [];
  for (const collection of collections) {
    const documents = await call(
      server,
      "GET",
      `/v1/collections/${collection.name}/documents?limit=1000`,
    );
    parts.push(collection, documents.body);
  }
  parts.push(await server.runtime.services.ingest.queueDepth());
  return JSON.stringify(parts);
}

describe("a PDF that takes too long", () => {
  test("is refused with 422 naming the time limit, and the service carries on", async () => {
    const server = await startTestServer({ GLEANER_PDF_TIMEOUT_MS: "1" });
    try {
      const pdf = await makePdf([["A perfectly good page that the clock will not allow."]]);
      const response = await uploadFile(server, "default", { name: "slow.pdf", bytes: pdf });
      assert.equal(response.status, 422);
      assert.match(response.body.error.message, /longer than 1 ms/);
      assert.equal((await call(server, "GET", "/healthz")).status, 200);
      const text = await call(server, "POST", "/v1/collections/default/documents", {
        text: "The service still ingests text after the parser was stopped.",
      });
      assert.equal(text.status, 201);
      const listed = await call(server, "GET", "/v1/collections/default/documents");
      assert.equal(listed.body.data.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe("request limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ GLEANER_MAX_UPLOAD_BYTES: String(64 * 1024) });
    await call(server, "POST", "/v1/collections/default/documents", { id: "seed", text: "seed" });
  });
  after(() => server.close());

  async function expectRejected(
    request: () => Promise<{ status: number; body: any }>,
    status: number,
    type: string,
    message: RegExp,
  ): Promise<void> {
    const before = await snapshot(server);
    const response = await request();
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.type, type);
    assert.match(response.body.error.message, message);
    assert.equal(await snapshot(server), before, "a rejected request changes nothing");
  }

  test("bodies over GLEANER_MAX_UPLOAD_BYTES get 413 and leave nothing behind", async () => {
    const big = new Uint8Array(100 * 1024).fill(97);
    await expectRejected(
      () => uploadFile(server, "default", { name: "big.txt", bytes: big, type: "text/plain" }),
      413,
      "payload_too_large",
      /GLEANER_MAX_UPLOAD_BYTES/,
    );
    await expectRejected(
      () => call(server, "POST", "/v1/collections/default/documents", { text: "a".repeat(70_000) }),
      413,
      "payload_too_large",
      /larger than 65536 bytes/,
    );
    // without a content-length the limit applies to the bytes as they stream in
    await expectRejected(
      async () => {
        const chunks = [new Uint8Array(40_000).fill(32), new Uint8Array(40_000).fill(32)];
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            const next = chunks.shift();
            if (next) controller.enqueue(next);
            else controller.close();
          },
        });
        const response = await fetch(`${server.url}/v1/collections/default/documents`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit);
        return { status: response.status, body: await response.json() };
      },
      413,
      "payload_too_large",
      /GLEANER_MAX_UPLOAD_BYTES/,
    );
  });

  test("a replacement that fails while the client waits leaves the stored version", async () => {
    const url = "/v1/collections/default/documents";
    const stored = await call(server, "POST", url, {
      id: "kept",
      text: "Panel flutter at Mach 2.",
    });
    assert.equal(stored.status, 201);
    const failed = await call(server, "POST", url, { id: "kept", text: " \n\t " });
    assert.equal(failed.status, 422);
    const after = await call(server, "GET", `${url}/kept`);
    const { updated_at: _before, ...was } = stored.body;
    const { updated_at: _after, ...is } = after.body;
    assert.deepEqual(is, was);
    const search = await call(server, "POST", "/v1/collections/default/search", {
      query: "panel flutter",
      mode: "keyword",
    });
    assert.equal(search.body.data[0]?.document_id, "kept");
    assert.equal(
      (await call(server, "DELETE", `${url}/kept`)).status,
      204,
      "clean up for the other checks",
    );
  });

  test("query length, k, bulk size, metadata size, ids and titles get a clear 400", async () => {
    const search = (body: unknown) => () =>
      call(server, "POST", "/v1/collections/default/search", body);
    const upload = (body: unknown) => () =>
      call(server, "POST", "/v1/collections/default/documents", body);
    await expectRejected(search({ query: "q".repeat(4001) }), 400, "invalid_request", /^query:/);
    await expectRejected(search({ query: "   " }), 400, "invalid_request", /query/);
    for (const k of [0, 101, 2.5, "5", -1]) {
      await expectRejected(search({ query: "x", k }), 400, "invalid_request", /^k:/);
    }
    const filter = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`key${i}`, i]));
    await expectRejected(search({ query: "x", filter }), 400, "invalid_request", /filter/);
    // bulk size is checked on documents small enough to pass the body limit of this server
    const bulk = Array.from({ length: 1001 }, (_, i) => ({ text: `${i}` }));
    await expectRejected(upload({ documents: bulk }), 400, "invalid_request", /documents: .*1000/);
    await expectRejected(upload({ documents: [] }), 400, "invalid_request", /^documents:/);
    const metadata = { notes: "m".repeat(17 * 1024) };
    await expectRejected(
      upload({ text: "t", metadata }),
      400,
      "invalid_request",
      /^metadata: .*16384 bytes/,
    );
    const file = { name: "a.txt", bytes: new TextEncoder().encode("hello"), type: "text/plain" };
    for (const text of [JSON.stringify(metadata), "[1,2", "[1,2]", '"text"']) {
      await expectRejected(
        () => uploadFile(server, "default", file, { metadata: text }),
        400,
        "invalid_request",
        /^metadata/,
      );
    }
    await expectRejected(
      upload({ id: "i".repeat(257), text: "t" }),
      400,
      "invalid_request",
      /^id:/,
    );
    await expectRejected(upload({ id: "a\u0000b", text: "t" }), 400, "invalid_request", /^id:/);
    await expectRejected(
      upload({ title: "t".repeat(1001), text: "t" }),
      400,
      "invalid_request",
      /^title:/,
    );
    await expectRejected(upload({ text: "" }), 400, "invalid_request", /^text:/);
    await expectRejected(
      () =>
        uploadFile(
          server,
          "default",
          { name: "a.txt", bytes: new TextEncoder().encode("hello"), type: "text/plain" },
          { title: "t".repeat(1001) },
        ),
      400,
      "invalid_request",
      /^title:/,
    );
    await expectRejected(
      () => call(server, "GET", `/v1/collections/default/documents?limit=1001`),
      400,
      "invalid_request",
      /^limit:/,
    );
  });
});

// last: it retires the shared parser workers to measure memory
describe("the shared real-world PDFs over HTTP", {
  skip: available ? false : `no shared PDF set at ${fileURLToPath(directory)}`,
}, () => {
  let server: TestServer;
  let rssBefore = 0;
  const outcomes: string[] = [];
  before(async () => {
    server = await startTestServer({ GLEANER_PDF_TIMEOUT_MS: "45000" });
    // the first PDF starts the parser worker; measure memory with it running
    const warm = await uploadFile(server, "default", {
      name: "warm.pdf",
      bytes: await makePdf([["Warm-up page about boundary layers."]]),
    });
    assert.equal(warm.status, 201);
    rssBefore = process.memoryUsage().rss;
  });
  after(async () => {
    console.log(["PDF | kind | outcome | ms", ...outcomes].join("\n"));
    await server.close();
  });

  for (const row of available ? manifestRows() : []) {
    test(`${row.file} (${row.kind}) is indexed or refused with 422`, {
      timeout: 60_000,
    }, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(row.file, directory)));
      const started = performance.now();
      const response = await uploadFile(server, "default", {
        name: row.file,
        bytes,
        type: "application/pdf",
      });
      const ms = Math.round(performance.now() - started);
      if (response.status === 201) {
        assert.equal(response.body.status, "ready");
        assert.ok(response.body.chunk_count > 0);
        assert.ok(response.body.page_count > 0);
        outcomes.push(
          `${row.file} | ${row.kind} | indexed: ${response.body.chunk_count} chunks | ${ms}`,
        );
      } else {
        assert.equal(response.status, 422, JSON.stringify(response.body));
        assert.equal(response.body.error.type, "unprocessable");
        assert.match(response.body.error.message, /PDF|text|document/i);
        assert.ok(response.body.error.message.length > 30, "the message says what is wrong");
        const listed = await call(server, "GET", "/v1/collections/default/documents?limit=1000");
        assert.ok(
          !listed.body.data.some((d: any) => d.source.filename === row.file),
          "a refused upload leaves nothing behind",
        );
        outcomes.push(
          `${row.file} | ${row.kind} | refused: ${response.body.error.message} | ${ms}`,
        );
      }
      assert.equal((await call(server, "GET", "/healthz")).status, 200);
    });
  }

  test("afterwards the service is healthy, searchable and its memory is back near the start", async (t) => {
    assert.equal((await call(server, "GET", "/readyz")).status, 200);
    const search = await call(server, "POST", "/v1/collections/default/search", {
      query: "boundary layers",
    });
    assert.equal(search.status, 200);
    assert.ok(search.body.data.length > 0);
    const refused = outcomes.filter((line) => line.includes("| refused:")).length;
    t.diagnostic(`${outcomes.length - refused} PDFs indexed, ${refused} refused with 422`);
    console.log(`hostile PDFs: ${outcomes.length - refused} indexed, ${refused} refused with 422`);
    // idle parser workers are retired after a while; retire them now instead of waiting
    await defaultPdfWorkerPool().close();
    globalThis.gc?.();
    const rssAfter = process.memoryUsage().rss;
    t.diagnostic(
      `RSS ${Math.round(rssBefore / MiB)} MiB before, ${Math.round(rssAfter / MiB)} MiB after`,
    );
    assert.ok(
      rssAfter < rssBefore + 300 * MiB,
      `RSS grew from ${Math.round(rssBefore / MiB)} to ${Math.round(rssAfter / MiB)} MiB`,
    );
  });
});
