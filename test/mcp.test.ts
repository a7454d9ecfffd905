import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";
import { makePdf } from "./support/pdf-fixtures.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const FULL_KEY = "mcp-full-key";
const READ_KEY = "mcp-read-key";
const repository = fileURLToPath(new URL("../", import.meta.url));

const FLUTTER =
  "Flutter is a self-excited oscillation of a wing. It grows when the airflow feeds energy into " +
  "the bending and twisting of the structure. Designers raise the flutter speed with stiffer spars.";
const NOZZLE =
  "The nozzle throat erodes during the burn. Erosion of the throat limits the burn time of the " +
  "motor, because the chamber pressure falls as the throat widens.";

async function connectHttp(server: TestServer, key?: string): Promise<Client> {
  const client = new Client({ name: "gleaner-test", version: "1" });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

/** A tool's structured result; fails the test when the call reported an error. */
async function callOk(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, any>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  assert.notEqual(result.isError, true, `${name} failed: ${JSON.stringify(result.content)}`);
  const text = result.content[0]?.type === "text" ? result.content[0].text : "";
  assert.deepEqual(JSON.parse(text), result.structuredContent, "text and structured content agree");
  return result.structuredContent as Record<string, any>;
}

/** A tool error's envelope; fails the test when the call succeeded. */
async function callError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ type: string; message: string; param: string | null }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  assert.equal(result.isError, true, `${name} should fail: ${JSON.stringify(result.content)}`);
  const text = result.content[0]?.type === "text" ? result.content[0].text : "";
  return JSON.parse(text).error;
}

describe("MCP over Streamable HTTP (/mcp)", () => {
  let server: TestServer;
  let full: Client;
  let reader: Client;

  before(async () => {
    server = await startTestServer({
      GLEANER_API_KEYS: FULL_KEY,
      GLEANER_READ_API_KEYS: READ_KEY,
    });
    full = await connectHttp(server, FULL_KEY);
    reader = await connectHttp(server, READ_KEY);
  });
  after(async () => {
    await full?.close();
    await reader?.close();
    await server?.close();
  });

  test("tools are listed with JSON Schemas from the API's zod schemas; read-only keys get no upload", async () => {
    const { tools } = await full.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ["search", "answer", "list_collections", "list_documents", "get_document", "upload_document"],
    );
    const search = tools.find((tool) => tool.name === "search");
    assert.ok(search);
    assert.deepEqual(search.inputSchema.required, ["query"]);
    const properties = search.inputSchema.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(properties.mode?.enum, ["hybrid", "vector", "keyword"]);
    assert.equal(properties.k?.maximum, 100);
    assert.equal(properties.collection?.default, "default");
    assert.ok(search.outputSchema, "structured results are described");
    assert.equal(search.annotations?.readOnlyHint, true);
    // JavaScript's \p{Cc} would not compile in other clients' regex dialects
    const upload = tools.find((tool) => tool.name === "upload_document");
    const uploadProperties = upload?.inputSchema.properties as Record<string, { pattern: string }>;
    const idPattern = new RegExp(uploadProperties.id?.pattern ?? "");
    assert.equal(idPattern.source, "^[^\\u0000-\\u001f\\u007f-\\u009f]+$");
    assert.ok(idPattern.test("aero/flutter v2") && !idPattern.test("a\nb"));
    assert.ok(!JSON.stringify(tools).includes("\\p{"), "no JavaScript-only escapes anywhere");
    const readerTools = (await reader.listTools()).tools.map((tool) => tool.name);
    assert.deepEqual(readerTools, [
      "search",
      "answer",
      "list_collections",
      "list_documents",
      "get_document",
    ]);
  });

  test("upload_document, then search, get_document around the hit, list and answer", async () => {
    const flutter = await callOk(full, "upload_document", {
      id: "aero/flutter",
      title: "Flutter",
      text: FLUTTER,
      metadata: { team: "aero" },
    });
    assert.equal(flutter.status, "ready");
    assert.equal(flutter.collection, "default");
    assert.ok(flutter.chunk_count >= 1);
    await callOk(full, "upload_document", {
      id: "nozzle",
      title: "Nozzle",
      text: NOZZLE,
      metadata: { team: "propulsion" },
    });

    const found = await callOk(reader, "search", { query: "what limits the burn time", k: 3 });
    assert.equal(found.mode, "hybrid");
    const hit = found.data[0];
    assert.equal(hit.document_id, "nozzle");
    assert.equal(typeof hit.score, "number");
    assert.equal(hit.page_start, null, "text has no pages");
    assert.ok(hit.char_end > hit.char_start);

    const filtered = await callOk(reader, "search", {
      query: "burn time",
      mode: "keyword",
      filter: { team: { $in: ["aero"] } },
    });
    assert.ok(
      filtered.data.every((r: { document_id: string }) => r.document_id === "aero/flutter"),
    );

    const read = await callOk(reader, "get_document", {
      id: "nozzle",
      char_start: hit.char_start,
      max_chars: hit.char_end - hit.char_start,
    });
    assert.equal(read.text, hit.text, "offsets of search results index the document's text");
    assert.equal(read.document.title, "Nozzle");
    assert.equal(read.total_chars, NOZZLE.length);
    const head = await callOk(reader, "get_document", { id: "nozzle", max_chars: 10 });
    assert.equal(head.text, NOZZLE.slice(0, 10));
    assert.equal(head.next_char_start, 10);
    const rest = await callOk(reader, "get_document", { id: "nozzle", char_start: 10 });
    assert.equal(head.text + rest.text, NOZZLE);
    assert.equal(rest.next_char_start, null);

    const collections = await callOk(reader, "list_collections", {});
    const defaults = collections.data.find((c: { name: string }) => c.name === "default");
    assert.equal(defaults.document_count, 2);

    const firstPage = await callOk(reader, "list_documents", { limit: 1 });
    assert.deepEqual(
      firstPage.data.map((d: { id: string }) => d.id),
      ["aero/flutter"],
    );
    assert.equal(firstPage.has_more, true);
    const secondPage = await callOk(reader, "list_documents", { after: firstPage.next_after });
    assert.deepEqual(
      secondPage.data.map((d: { id: string }) => d.id),
      ["nozzle"],
    );

    const answer = await callOk(reader, "answer", {
      question: "What limits the burn time of the motor?",
    });
    assert.equal(answer.mode, "extractive");
    assert.ok(answer.citations.length >= 1, JSON.stringify(answer));
    assert.equal(answer.citations[0].document_id, "nozzle");
    assert.match(answer.answer, /\[1\]/);
  });

  test("documents are resources: listed, read with their pages", async () => {
    const pdf = await makePdf([
      ["Page one is about the launch rail and the igniter."],
      ["Page two explains the parachute deployment altitude."],
      ["Page three lists the recovery team's checklist."],
    ]);
    const created = await call(
      server,
      "POST",
      "/v1/collections",
      { name: "manuals", chunking: { max_tokens: 16, overlap_tokens: 0 } },
      { authorization: `Bearer ${FULL_KEY}` },
    );
    assert.equal(created.status, 201);
    // a file travels as base64 in place of text; its type is read from the bytes
    const uploaded = await callOk(full, "upload_document", {
      collection: "manuals",
      id: "rocket manual",
      content_base64: Buffer.from(pdf).toString("base64"),
      filename: "rocket.pdf",
    });
    assert.deepEqual(
      [uploaded.status, uploaded.source.media_type, uploaded.page_count],
      ["ready", "application/pdf", 3],
    );

    const { resourceTemplates } = await reader.listResourceTemplates();
    assert.equal(resourceTemplates[0]?.uriTemplate, "gleaner://{collection}/{document}");
    const { resources } = await reader.listResources();
    const uris = resources.map((resource) => resource.uri);
    assert.ok(uris.includes("gleaner://default/aero%2Fflutter"), uris.join(" "));
    assert.ok(uris.includes("gleaner://manuals/rocket%20manual"), uris.join(" "));

    const { contents } = await reader.readResource({ uri: "gleaner://manuals/rocket%20manual" });
    const content = contents[0] as { text: string; _meta: Record<string, any> };
    assert.match(content.text, /parachute deployment altitude/);
    assert.equal(content._meta.page_count, 3);
    const pages = content._meta.pages as { page: number; char_start: number; char_end: number }[];
    assert.deepEqual(
      pages.map((p) => p.page),
      [1, 2, 3],
    );
    const second = pages[1] as { char_start: number; char_end: number };
    assert.match(content.text.slice(second.char_start, second.char_end), /parachute/);

    const hit = (
      await callOk(reader, "search", { collection: "manuals", query: "parachute altitude", k: 1 })
    ).data[0];
    assert.equal(hit.page_start, 2);
    const around = await callOk(reader, "get_document", {
      collection: "manuals",
      id: "rocket manual",
      char_start: hit.char_start,
      max_chars: hit.char_end - hit.char_start,
    });
    assert.equal(around.text, hit.text);
    assert.ok(around.pages.some((p: { page: number }) => p.page === 2));

    await assert.rejects(reader.readResource({ uri: "gleaner://manuals/missing" }), (error) => {
      assert.equal((error as { code: number }).code, -32002);
      assert.equal((error as { data: any }).data.error.type, "not_found");
      return true;
    });
    await assert.rejects(reader.readResource({ uri: "https://example.com/x" }), {
      code: -32602,
    });
  });

  test("errors come back in the API's envelope", async () => {
    const missing = await callError(reader, "search", { collection: "nope", query: "flutter" });
    assert.equal(missing.type, "not_found");
    assert.match(missing.message, /nope/);

    const badName = await callError(reader, "search", { collection: "Bad Name!", query: "x" });
    assert.deepEqual([badName.type, badName.param], ["invalid_request", "collection"]);

    const badFilter = await callError(reader, "search", {
      query: "flutter",
      filter: { team: { $gt: 1 } },
    });
    assert.equal(badFilter.type, "invalid_request");
    assert.match(badFilter.param ?? "", /^filter/);

    const emptyQuery = await callError(reader, "search", { query: "  " });
    assert.deepEqual([emptyQuery.type, emptyQuery.param], ["invalid_request", "query"]);

    const unknownDocument = await callError(reader, "get_document", { id: "nope" });
    assert.deepEqual([unknownDocument.type, unknownDocument.param], ["not_found", "id"]);
    const pastTheEnd = await callError(reader, "get_document", {
      id: "nozzle",
      char_start: 10_000,
    });
    assert.deepEqual([pastTheEnd.type, pastTheEnd.param], ["invalid_request", "char_start"]);

    const both = await callError(full, "upload_document", { text: "a", content_base64: "YQ==" });
    assert.deepEqual([both.type, both.param], ["invalid_request", "text"]);
    const notBase64 = await callError(full, "upload_document", { content_base64: "%%%" });
    assert.deepEqual([notBase64.type, notBase64.param], ["invalid_request", "content_base64"]);
    const image = await callError(full, "upload_document", {
      content_base64: Buffer.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13,
      ]).toString("base64"),
      filename: "photo.png",
    });
    assert.equal(image.type, "unsupported_media_type");

    const forbidden = await callError(reader, "upload_document", { text: "sneaky" });
    assert.equal(forbidden.type, "forbidden");
    const documents = await callOk(full, "list_documents", {});
    assert.ok(!documents.data.some((d: { title: string }) => d.title === "sneaky"));

    await assert.rejects(full.callTool({ name: "no_such_tool", arguments: {} }), { code: -32602 });
  });

  test("a missing or wrong key is 401 in the error envelope; browsers from other origins are refused", async () => {
    for (const key of [undefined, "wrong-key"]) {
      await assert.rejects(connectHttp(server, key), (error) => {
        assert.ok(error instanceof StreamableHTTPError, String(error));
        assert.equal(error.code, 401);
        return true;
      });
    }
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "curl", version: "1" },
      },
    };
    const anonymous = await call(server, "POST", "/mcp", initialize, {
      accept: "application/json, text/event-stream",
    });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.type, "unauthorized");
    const foreign = await call(server, "POST", "/mcp", initialize, {
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${FULL_KEY}`,
      origin: "https://evil.example",
    });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error.type, "forbidden");
    const get = await call(server, "GET", "/mcp", undefined, {
      authorization: `Bearer ${FULL_KEY}`,
    });
    assert.equal(get.status, 405);
  });
});

describe("MCP answer through the Responses API (local OpenAI test server)", () => {
  let openai: OpenAIServer;
  let server: TestServer;
  let client: Client;

  before(async () => {
    openai = await startOpenAIServer();
    server = await startTestServer({
      OPENAI_API_KEY: "test",
      OPENAI_BASE_URL: openai.baseURL,
      GLEANER_OPENAI_MAX_RETRIES: "0",
    });
    client = await connectHttp(server);
    const created = await call(server, "POST", "/v1/collections", {
      name: "docs",
      embedding: { provider: "local" },
    });
    assert.equal(created.status, 201);
    await callOk(client, "upload_document", { collection: "docs", id: "nozzle", text: NOZZLE });
  });
  after(async () => {
    await client?.close();
    await server?.close();
    await openai?.close();
  });

  test("a verified LLM answer; a failed response is upstream_error", async () => {
    const quote =
      "Erosion of the throat limits the burn time of the motor, because the chamber pressure falls as the throat widens.";
    openai.setResponder((request) => {
      const n = /<source n="(\d+)"[^>]*>\n[^<]*Erosion of the throat/.exec(request.inputText)?.[1];
      return {
        text: JSON.stringify({
          answer: `Throat erosion limits it [${n}].`,
          citations: [{ n: Number(n), quote }],
          insufficient_context: false,
        }),
      };
    });
    const answer = await callOk(client, "answer", {
      collection: "docs",
      question: "What limits the burn time?",
      reasoning_effort: "low",
    });
    assert.equal(answer.mode, "llm");
    assert.equal(answer.answer, "Throat erosion limits it [1].");
    assert.equal(answer.citations[0].document_id, "nozzle");
    assert.equal(NOZZLE.slice(answer.citations[0].char_start, answer.citations[0].char_end), quote);

    openai.setResponder(() => ({ failed: { code: "server_error", message: "Out of capacity." } }));
    const failed = await callError(client, "answer", { collection: "docs", question: "Why?" });
    assert.equal(failed.type, "upstream_error");
    assert.match(failed.message, /Out of capacity/);
  });

  test("a client that drops the connection aborts the upstream request", async () => {
    openai.injectFaults([{ path: "/v1/responses", delayMs: 10_000 }]);
    const leaving = await connectHttp(server);
    const pending = leaving.callTool({
      name: "answer",
      arguments: { collection: "docs", question: "What limits the burn time?" },
    });
    pending.catch(() => {});
    // the delayed request, not an earlier test's
    const held = (record: { path: string; fault: unknown }): boolean =>
      record.path === "/v1/responses" && record.fault !== null;
    await openai.waitForRequest(held, 5000);
    await leaving.close();
    const upstream = await openai.waitForRequest((record) => held(record) && record.aborted, 5000);
    assert.ok(upstream.aborted);
  });
});

describe("MCP rate limits", () => {
  test("/mcp shares a key's token bucket with /v1: over it, 429 with retry-after", async () => {
    const server = await startTestServer({
      GLEANER_API_KEYS: FULL_KEY,
      GLEANER_RATE_LIMIT_RPS: "0.01",
      GLEANER_RATE_LIMIT_BURST: "5",
    });
    try {
      const auth = { authorization: `Bearer ${FULL_KEY}` };
      // connecting takes three tokens (initialize, its notification, the GET for a stream that
      // stateless /mcp refuses), tools/list a fourth, /v1 the fifth
      const client = await connectHttp(server, FULL_KEY);
      await client.listTools();
      assert.equal((await call(server, "GET", "/v1/collections", undefined, auth)).status, 200);
      await assert.rejects(client.listTools(), (error) => {
        assert.ok(error instanceof StreamableHTTPError, String(error));
        assert.equal(error.code, 429);
        return true;
      });
      const limited = await call(server, "POST", "/mcp", {}, auth);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.type, "rate_limited");
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      await client.close();
    } finally {
      await server.close();
    }
  });
});

describe("MCP over stdio (gleaner mcp)", () => {
  const dir = makeTempDir();
  after(() => dir.remove());

  const spawnClient = async (args: string[] = []): Promise<Client> => {
    const client = new Client({ name: "gleaner-test", version: "1" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", "src/main.ts", "mcp", ...args],
        cwd: repository,
        env: {
          PATH: process.env.PATH ?? "",
          GLEANER_DATA_DIR: dir.path,
          GLEANER_LOG_LEVEL: "warn",
        },
        stderr: "inherit",
      }),
    );
    return client;
  };

  test("the same tools and resources, with no key; --read-only drops the writing tool", async () => {
    const client = await spawnClient();
    try {
      assert.equal((await client.listTools()).tools.length, 6);
      const uploaded = await callOk(client, "upload_document", {
        id: "nozzle",
        text: NOZZLE,
        metadata: { team: "propulsion" },
      });
      assert.equal(uploaded.status, "ready");
      const found = await callOk(client, "search", { query: "throat erosion", k: 2 });
      assert.equal(found.data[0].document_id, "nozzle");
      const read = await callOk(client, "get_document", { id: "nozzle" });
      assert.equal(read.text, NOZZLE);
      const { contents } = await client.readResource({ uri: "gleaner://default/nozzle" });
      assert.equal((contents[0] as { text: string }).text, NOZZLE);
      const missing = await callError(client, "list_documents", { collection: "nope" });
      assert.deepEqual([missing.type, missing.param], ["not_found", "collection"]);
    } finally {
      await client.close();
    }

    const reader = await spawnClient(["--read-only"]);
    try {
      const names = (await reader.listTools()).tools.map((tool) => tool.name);
      assert.ok(!names.includes("upload_document"));
      assert.equal((await callError(reader, "upload_document", { text: "x" })).type, "forbidden");
      // the first process saved its work: the document is still there
      const found = await callOk(reader, "search", { query: "throat erosion", k: 1 });
      assert.equal(found.data[0].document_id, "nozzle");
    } finally {
      await reader.close();
    }
  });
});
