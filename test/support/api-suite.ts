import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { makePdf } from "./pdf-fixtures.ts";
import { call, type TestServer, uploadFile } from "./test-server.ts";

const SHARED_PDFS = new URL("../../../shared/pdfs/", import.meta.url);
const haveShared = existsSync(SHARED_PDFS);

/**
 * The HTTP API's behaviour over a real listening server, whatever the storage backend:
 * `api.test.ts` runs it over SQLite, `api-postgres.test.ts` over PostgreSQL + pgvector.
 * `start` must give a server over an empty store.
 */
export function runApiSuite(backend: string, start: () => Promise<TestServer>): void {
  describe(`HTTP API over a real listening server (${backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await start();
    });
    after(async () => {
      await server.close();
    });

    test("health, readiness, OpenAPI description and docs page", async () => {
      assert.deepEqual((await call(server, "GET", "/healthz")).body, { status: "ok" });
      assert.equal((await call(server, "GET", "/readyz")).status, 200);
      const spec = await call(server, "GET", "/openapi.json");
      assert.equal(spec.body.openapi, "3.1.0");
      for (const path of [
        "/v1/collections",
        "/v1/collections/{name}",
        "/v1/collections/{name}/documents",
        "/v1/collections/{name}/documents/{id}",
        "/v1/collections/{name}/search",
      ]) {
        assert.ok(spec.body.paths[path], `${path} is described`);
      }
      const docs = await fetch(`${server.url}/docs`);
      assert.equal(docs.status, 200);
      assert.match(await docs.text(), /swagger-ui-bundle\.js/);
      const asset = await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`);
      assert.equal(asset.status, 200);
      await asset.arrayBuffer();
    });

    test("the default collection exists from the first start", async () => {
      const response = await call(server, "GET", "/v1/collections/default");
      assert.equal(response.status, 200);
      assert.equal(response.body.embedding.provider, "local");
      assert.deepEqual(response.body.chunking, { max_tokens: 512, overlap_tokens: 64 });
    });

    test("collections: create, conflict, invalid, list, get, delete", async () => {
      const created = await call(server, "POST", "/v1/collections", {
        name: "papers",
        description: "research",
        chunking: { max_tokens: 200, overlap_tokens: 20 },
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.chunking.max_tokens, 200);
      assert.equal(created.body.document_count, 0);
      const conflict = await call(server, "POST", "/v1/collections", { name: "papers" });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.body.error.type, "conflict");
      const badName = await call(server, "POST", "/v1/collections", { name: "Bad Name!" });
      assert.equal(badName.status, 400);
      assert.equal(badName.body.error.type, "invalid_request");
      assert.equal(badName.body.error.param, "name");
      const badOverlap = await call(server, "POST", "/v1/collections", {
        name: "x1",
        chunking: { max_tokens: 100, overlap_tokens: 90 },
      });
      assert.equal(badOverlap.status, 400);
      const openaiWithoutKey = await call(server, "POST", "/v1/collections", {
        name: "x2",
        embedding: { provider: "openai" },
      });
      assert.equal(openaiWithoutKey.status, 400);
      assert.match(openaiWithoutKey.body.error.message, /OPENAI_API_KEY/);
      const list = await call(server, "GET", "/v1/collections");
      assert.deepEqual(list.body.data.map((c: { name: string }) => c.name).sort(), [
        "default",
        "papers",
      ]);
      assert.equal((await call(server, "DELETE", "/v1/collections/papers")).status, 204);
      assert.equal((await call(server, "GET", "/v1/collections/papers")).status, 404);
      const missing = await call(server, "DELETE", "/v1/collections/papers");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.type, "not_found");
    });

    test("unknown collection is 404 on every collection route", async () => {
      for (const [method, path, body] of [
        ["GET", "/v1/collections/ghost/documents", undefined],
        ["POST", "/v1/collections/ghost/documents", { text: "hi" }],
        ["POST", "/v1/collections/ghost/search", { query: "hi" }],
        ["GET", "/v1/collections/ghost/documents/x", undefined],
      ] as const) {
        const response = await call(server, method, path, body);
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal(response.body.error.type, "not_found");
      }
    });

    test("text documents: upload, idempotent re-upload without embedding, replace, search, delete", async () => {
      await call(server, "POST", "/v1/collections", { name: "notes" });
      const first = await call(server, "POST", "/v1/collections/notes/documents", {
        id: "wing-1",
        title: "Wing flutter",
        text: "Flutter of swept wings at transonic speeds depends on the torsional stiffness.",
        metadata: { team: "aero", year: 2021 },
      });
      assert.equal(first.status, 201);
      assert.equal(first.body.status, "ready");
      assert.equal(first.body.chunk_count, 1);
      assert.ok(first.body.token_count > 5);

      const callsBefore = server.embedCalls();
      const again = await call(server, "POST", "/v1/collections/notes/documents", {
        id: "wing-1",
        title: "Wing flutter",
        text: "Flutter of swept wings at transonic speeds depends on the torsional stiffness.",
        metadata: { team: "aero", year: 2021 },
      });
      assert.equal(again.status, 200, "identical content is a no-op");
      assert.equal(server.embedCalls(), callsBefore, "no embedding is spent on identical content");
      assert.equal(again.body.updated_at, first.body.updated_at);

      await call(server, "POST", "/v1/collections/notes/documents", {
        documents: [
          {
            id: "heat-1",
            text: "Heat conduction in composite slabs with periodic surface temperature.",
            metadata: { team: "thermal", year: 2020 },
          },
          {
            id: "heat-2",
            text: "Radiative heat transfer in rarefied gas flows near hot walls.",
            metadata: { team: "thermal", year: 2022 },
          },
        ],
      });

      for (const mode of ["keyword", "vector", "hybrid"]) {
        const found = await call(server, "POST", "/v1/collections/notes/search", {
          query: "wing flutter",
          mode,
          k: 3,
        });
        assert.equal(found.status, 200, mode);
        assert.equal(found.body.mode, mode);
        assert.equal(
          found.body.data[0].document_id,
          "wing-1",
          `${mode} ranks the flutter document first`,
        );
        const top = found.body.data[0];
        assert.equal(top.title, "Wing flutter");
        assert.deepEqual(top.metadata, { team: "aero", year: 2021 });
        assert.equal(top.char_start, 0);
        assert.equal(top.page_start, null);
        assert.equal(typeof top.score, "number");
      }

      const filtered = await call(server, "POST", "/v1/collections/notes/search", {
        query: "heat",
        filter: { team: "thermal", year: { $in: [2022] } },
      });
      assert.deepEqual(
        filtered.body.data.map((r: { document_id: string }) => r.document_id),
        ["heat-2"],
      );

      const replaced = await call(server, "POST", "/v1/collections/notes/documents", {
        id: "wing-1",
        title: "Wing flutter",
        text: "Completely new content about hypersonic inlets.",
      });
      assert.equal(replaced.status, 201);
      const oldText = await call(server, "POST", "/v1/collections/notes/search", {
        query: "torsional",
        mode: "keyword",
      });
      assert.equal(oldText.body.data.length, 0, "the replaced version is gone");

      assert.equal(
        (await call(server, "DELETE", "/v1/collections/notes/documents/heat-1")).status,
        204,
      );
      for (const mode of ["keyword", "vector", "hybrid"]) {
        const after = await call(server, "POST", "/v1/collections/notes/search", {
          query: "conduction composite slabs",
          mode,
          k: 10,
        });
        assert.ok(
          after.body.data.every((r: { document_id: string }) => r.document_id !== "heat-1"),
          `${mode} never returns a deleted document`,
        );
      }
      assert.equal(
        (await call(server, "GET", "/v1/collections/notes/documents/heat-1")).status,
        404,
      );
      const listing = await call(server, "GET", "/v1/collections/notes/documents?limit=1");
      assert.equal(listing.body.data.length, 1);
      assert.equal(listing.body.has_more, true);
      const next = await call(
        server,
        "GET",
        `/v1/collections/notes/documents?limit=1&after=${listing.body.next_after}`,
      );
      assert.equal(next.body.data[0].id, "wing-1");
      assert.equal(next.body.has_more, false);
    });

    test("wait=false returns 202 and the document becomes ready", async () => {
      const queued = await call(server, "POST", "/v1/collections/default/documents?wait=false", {
        id: "async-1",
        text: "Asynchronous ingestion through the durable queue.",
      });
      assert.equal(queued.status, 202);
      assert.ok(["queued", "processing", "ready"].includes(queued.body.status));
      let status = queued.body.status;
      let last = queued.body;
      for (let attempt = 0; attempt < 100 && status !== "ready"; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        last = (await call(server, "GET", "/v1/collections/default/documents/async-1")).body;
        status = last.status;
      }
      assert.equal(status, "ready", JSON.stringify(last));
    });

    test("a PDF upload keeps page numbers in search results", async () => {
      const pdf = await makePdf(
        [
          ["Chapter one: the history of gliders and early aviation pioneers."],
          ["Chapter two: supersonic combustion ramjet engines need stable ignition."],
          ["Chapter three: landing gear loads during touchdown on rough runways."],
        ],
        "Aviation notes",
      );
      const uploaded = await uploadFile(
        server,
        "default",
        { name: "aviation.pdf", bytes: pdf },
        { id: "aviation", metadata: '{"kind":"pdf"}' },
      );
      assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
      assert.equal(uploaded.body.page_count, 3);
      assert.equal(uploaded.body.source.media_type, "application/pdf");
      assert.equal(uploaded.body.title, "Aviation notes");
      const found = await call(server, "POST", "/v1/collections/default/search", {
        query: "supersonic combustion ramjet",
        mode: "keyword",
        filter: { kind: "pdf" },
      });
      assert.equal(found.body.data[0].document_id, "aviation");
      assert.ok(found.body.data[0].page_start <= 2 && found.body.data[0].page_end >= 2);
    });

    test("bad input: invalid bodies 400, wrong media types 415, nothing is written", async () => {
      const before = (await call(server, "GET", "/v1/collections/default")).body.document_count;
      const cases: [unknown, string | null][] = [
        [{ text: "" }, "text"],
        [{ text: "x", metadata: "not an object" }, "metadata"],
        [{ text: "x", unknown_field: 1 }, null],
        [{ documents: [] }, "documents"],
      ];
      for (const [body] of cases) {
        const response = await call(server, "POST", "/v1/collections/default/documents", body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(response.body.error.type, "invalid_request");
        assert.equal(typeof response.body.error.message, "string");
      }
      const badJson = await fetch(`${server.url}/v1/collections/default/documents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      assert.equal(badJson.status, 400);
      assert.equal(
        ((await badJson.json()) as { error: { type: string } }).error.type,
        "invalid_request",
      );

      const textPlain = await fetch(`${server.url}/v1/collections/default/documents`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      assert.equal(textPlain.status, 415);
      const png = new Uint8Array([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0,
        0, 0, 1, 8, 6, 0, 0, 0,
      ]);
      const image = await uploadFile(server, "default", {
        name: "photo.pdf",
        bytes: png,
        type: "application/pdf",
      });
      assert.equal(image.status, 415, "the type comes from the bytes, not the name or the client");
      assert.equal(image.body.error.type, "unsupported_media_type");

      const search = await call(server, "POST", "/v1/collections/default/search", {
        query: "x",
        k: 1000,
      });
      assert.equal(search.status, 400);
      assert.equal(search.body.error.param, "k");
      const badMode = await call(server, "POST", "/v1/collections/default/search", {
        query: "x",
        mode: "fuzzy",
      });
      assert.equal(badMode.status, 400);
      const emptyQuery = await call(server, "POST", "/v1/collections/default/search", {
        query: "  ",
      });
      assert.equal(emptyQuery.status, 400);
      const after = (await call(server, "GET", "/v1/collections/default")).body.document_count;
      assert.equal(after, before);
    });

    test("an unknown route is a 404 in the error envelope", async () => {
      const response = await call(server, "GET", "/v1/nothing-here");
      assert.equal(response.status, 404);
      assert.equal(response.body.error.type, "not_found");
    });

    test("restart keeps collections, documents and both indexes", async () => {
      await call(server, "POST", "/v1/collections", { name: "durable" });
      await call(server, "POST", "/v1/collections/durable/documents", {
        id: "keep",
        text: "Boundary layer suction delays transition on laminar flow wings.",
      });
      await server.restart();
      const doc = await call(server, "GET", "/v1/collections/durable/documents/keep");
      assert.equal(doc.body.status, "ready");
      for (const mode of ["keyword", "vector"]) {
        const found = await call(server, "POST", "/v1/collections/durable/search", {
          query: "laminar flow suction",
          mode,
        });
        assert.equal(found.body.data[0]?.document_id, "keep", mode);
      }
    });

    test("text whose bytes 4-8 spell a QuickTime atom is text, as JSON and as a file", async () => {
      await call(server, "POST", "/v1/collections", { name: "plain" });
      // "free", "wide", "mdat", "moov" and "skip" at offset 4 are QuickTime signatures to a sniffer
      const texts = {
        market: "The free market sets prices by supply and demand.",
        criteria: "Two widely used criteria for the stability of laminar flow.",
        video: "Some mdat atoms and moov boxes described in plain words.",
        pdf: "%PDF-1.7 is how a PDF file begins, said this note.",
      };
      for (const [id, text] of Object.entries(texts)) {
        const json = await call(server, "POST", "/v1/collections/plain/documents", { id, text });
        assert.equal(json.status, 201, `JSON ${id}: ${JSON.stringify(json.body)}`);
        assert.equal(json.body.source.media_type, "text/plain");
        if (id === "pdf") continue; // a file that starts with %PDF- is a PDF; as JSON it is text
        const file = await uploadFile(
          server,
          "plain",
          { name: `${id}.txt`, bytes: new TextEncoder().encode(text) },
          { id: `${id}-file` },
        );
        assert.equal(file.status, 201, `file ${id}: ${JSON.stringify(file.body)}`);
        assert.equal(file.body.source.media_type, "text/plain");
      }
      const found = await call(server, "POST", "/v1/collections/plain/search", {
        query: "widely used criteria",
        mode: "keyword",
      });
      assert.ok(found.body.data.some((r: { document_id: string }) => r.document_id === "criteria"));
      const nul = await call(server, "POST", "/v1/collections/plain/documents", {
        id: "nul",
        text: "a\u0000b",
      });
      assert.equal(nul.status, 400);
      assert.equal(nul.body.error.param, "text");
      assert.equal((await call(server, "GET", "/v1/collections/plain/documents/nul")).status, 404);
    });

    test("hybrid still returns the nearest passages when the query's words match nothing", async () => {
      await call(server, "POST", "/v1/collections", { name: "sparse" });
      await call(server, "POST", "/v1/collections/sparse/documents", {
        documents: [
          { id: "pump", text: "A centrifugal pump must be primed before it starts." },
          { id: "boiler", text: "The boiler trips when the feed water runs low." },
        ],
      });
      const query = "what happens if the impeller spins without liquid";
      const keyword = await call(server, "POST", "/v1/collections/sparse/search", {
        query: "impeller spins without liquid",
        mode: "keyword",
      });
      assert.equal(keyword.body.data.length, 0, "no indexed word in common");
      const hybrid = await call(server, "POST", "/v1/collections/sparse/search", { query, k: 5 });
      assert.equal(hybrid.status, 200);
      assert.deepEqual(hybrid.body.data.map((r: { document_id: string }) => r.document_id).sort(), [
        "boiler",
        "pump",
      ]);
      const scores = hybrid.body.data.map((r: { score: number }) => r.score);
      assert.ok(scores[0] >= scores[1], "best first");
    });

    test("metadata keys with backslashes, quotes and dots filter like any other key", async () => {
      await call(server, "POST", "/v1/collections", { name: "odd-keys" });
      const keys = ["\\", '"', 'a"b', "a.b", "$", "[0]", "it's", "\\u0041", "tab\there", "😀"];
      const documents = keys.map((key, index) => ({
        id: `doc-${index}`,
        text: `Orbital mechanics note number ${index}.`,
        metadata: { [key]: `value-${index}`, A: "decoy" },
      }));
      const uploaded = await call(server, "POST", "/v1/collections/odd-keys/documents", {
        documents,
      });
      assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
      for (const [index, key] of keys.entries()) {
        for (const mode of ["hybrid", "keyword", "vector"]) {
          const filtered = await call(server, "POST", "/v1/collections/odd-keys/search", {
            query: "orbital mechanics note",
            mode,
            filter: { [key]: `value-${index}` },
          });
          assert.equal(
            filtered.status,
            200,
            `${JSON.stringify(key)} ${mode}: ${filtered.body?.error?.message}`,
          );
          assert.deepEqual(
            filtered.body.data.map((r: { document_id: string }) => r.document_id),
            [`doc-${index}`],
            `${JSON.stringify(key)} in ${mode} mode`,
          );
        }
      }
      const unstorable = await call(server, "POST", "/v1/collections/odd-keys/search", {
        query: "orbital",
        filter: { "a\u0000b": "x" },
      });
      assert.equal(unstorable.status, 400);
      assert.match(unstorable.body.error.message, /NUL/);
      assert.match(unstorable.body.error.param ?? "", /filter/);
    });

    test("an encrypted PDF is refused with 422 and leaves nothing behind", {
      skip: haveShared ? false : "../shared/pdfs is absent",
    }, async () => {
      const bytes = readFileSync(new URL("libreoffice-writer-password.pdf", SHARED_PDFS));
      const response = await uploadFile(
        server,
        "default",
        { name: "locked.pdf", bytes },
        { id: "locked" },
      );
      assert.equal(response.status, 422);
      assert.equal(response.body.error.type, "unprocessable");
      assert.match(response.body.error.message, /password|encrypt/i);
      assert.equal(
        (await call(server, "GET", "/v1/collections/default/documents/locked")).status,
        404,
      );
      assert.equal((await call(server, "GET", "/healthz")).status, 200);
    });
  });
}
