import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type AnswerEvent,
  createGleanerClient,
  type GleanerClient,
  GleanerError,
} from "gleaner/client";
import { answerEvents } from "../src/client/answer.ts";
import { parseEventStream } from "../src/client/sse.ts";
import { makePdf } from "./support/pdf-fixtures.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const PAGES = [
  ["Trace trees record hot loops in the interpreter.", "Each loop header anchors a tree."],
  ["Nested loops become nested trace trees.", "The outer trace calls the inner tree."],
];

/** Rejects with a GleanerError of this type and status. */
async function rejectsWith(
  pending: Promise<unknown>,
  expected: { type: string; status: number; param?: string | null },
): Promise<GleanerError> {
  let caught: unknown;
  try {
    await pending;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof GleanerError, `expected a GleanerError, got ${String(caught)}`);
  assert.equal(caught.type, expected.type);
  assert.equal(caught.status, expected.status);
  if (expected.param !== undefined) assert.equal(caught.param, expected.param);
  assert.ok(caught.message.length > 0);
  return caught;
}

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe("typed client against a real server", () => {
  let server: TestServer;
  let client: GleanerClient;

  before(async () => {
    server = await startTestServer();
    client = createGleanerClient({ baseUrl: server.url });
  });
  after(() => server.close());

  test("collections: create, list, get, conflict, delete, not found", async () => {
    const created = await client.collections.create({
      name: "papers",
      chunking: { max_tokens: 64, overlap_tokens: 8 },
    });
    assert.equal(created.name, "papers");
    assert.equal(created.chunking.max_tokens, 64);
    const names = (await client.collections.list()).map((collection) => collection.name);
    assert.deepEqual(names.sort(), ["default", "papers"]);
    assert.equal((await client.collections.get("papers")).document_count, 0);
    const conflict = await rejectsWith(client.collections.create({ name: "papers" }), {
      type: "conflict",
      status: 409,
    });
    assert.ok(conflict.requestId, "the request id travels with the error");
    await client.collections.delete("papers");
    await rejectsWith(client.collections.get("papers"), {
      type: "not_found",
      status: 404,
      param: "name",
    });
  });

  test("documents: file upload, text (single and bulk), list, get, delete", async () => {
    const pdf = await makePdf(PAGES);
    const uploaded = await client.documents.upload("default", new Blob([pdf]), {
      filename: "trace-trees.pdf",
      id: "trace-trees",
      title: "Trace trees",
      metadata: { team: "vm" },
    });
    assert.equal(uploaded.status, "ready");
    assert.equal(uploaded.page_count, 2);
    assert.deepEqual(uploaded.metadata, { team: "vm" });
    assert.equal(uploaded.source.filename, "trace-trees.pdf");

    const [single] = await client.documents.addText("default", {
      id: "note",
      text: "Side exits return to the interpreter.",
    });
    assert.equal(single?.status, "ready");
    const bulk = await client.documents.addText("default", [
      { id: "bulk-1", text: "Type maps describe the types of variables." },
      { id: "bulk-2", text: "Guards check the type map at run time." },
    ]);
    assert.deepEqual(
      bulk.map((document) => document.id),
      ["bulk-1", "bulk-2"],
    );

    const page = await client.documents.list("default", { limit: "2" });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const rest = await client.documents.list("default", { after: page.next_after ?? "" });
    assert.deepEqual([...page.data, ...rest.data].map((document) => document.id).sort(), [
      "bulk-1",
      "bulk-2",
      "note",
      "trace-trees",
    ]);
    assert.equal((await client.documents.get("default", "trace-trees")).title, "Trace trees");

    await client.documents.delete("default", "bulk-2");
    await rejectsWith(client.documents.get("default", "bulk-2"), {
      type: "not_found",
      status: 404,
    });
    await rejectsWith(client.documents.delete("default", "bulk-2"), {
      type: "not_found",
      status: 404,
    });
  });

  test("upload errors carry the envelope's type, status and message", async () => {
    const broken = new TextEncoder().encode("%PDF-1.7\nnot really a PDF\n%%EOF\n");
    const raw = await fetch(`${server.url}/v1/collections/default/documents`, {
      method: "POST",
      body: (() => {
        const form = new FormData();
        form.set("file", new Blob([broken]), "broken.pdf");
        return form;
      })(),
    });
    const envelope = (await raw.json()) as { error: { type: string; message: string } };
    const error = await rejectsWith(
      client.documents.upload("default", new Blob([broken]), { filename: "broken.pdf" }),
      { type: envelope.error.type, status: raw.status },
    );
    assert.equal(error.message, envelope.error.message);
    await rejectsWith(client.documents.upload("missing", new Blob(["hello"])), {
      type: "not_found",
      status: 404,
    });
  });

  test("search returns typed, ranked results with pages", async () => {
    const response = await client.search("default", { query: "nested trace trees", k: 3 });
    assert.equal(response.mode, "hybrid");
    assert.ok(response.data.length > 0);
    const top = response.data[0]!;
    assert.equal(top.document_id, "trace-trees");
    assert.ok(top.page_start !== null && top.page_end !== null && top.page_end >= top.page_start);
    const direct = await call(server, "POST", "/v1/collections/default/search", {
      query: "nested trace trees",
      k: 3,
    });
    assert.deepEqual(
      response.data.map((result) => result.chunk_id),
      direct.body.data.map((result: any) => result.chunk_id),
    );
    await rejectsWith(client.search("default", { query: "   " }), {
      type: "invalid_request",
      status: 400,
      param: "query",
    });
  });

  test("answer, whole and streamed as an async iterator of parsed events", async () => {
    const question = "What do nested loops become?";
    const whole = await client.answer("default", { question });
    assert.ok(whole.answer.length > 0);
    assert.ok(whole.citations.length > 0, "the extractive answer cites its sources");
    for (const citation of whole.citations) {
      assert.ok(whole.sources.some((source) => source.chunk_id === citation.chunk_id));
    }

    const events: AnswerEvent[] = [];
    for await (const event of client.answerStream("default", { question })) events.push(event);
    assert.equal(events[0]?.event, "sources");
    assert.equal(events.at(-1)?.event, "done");
    const deltas = events.flatMap((event) => (event.event === "delta" ? [event.data.text] : []));
    assert.ok(deltas.length > 0, "the answer arrives in deltas");
    const done = events.at(-1) as Extract<AnswerEvent, { event: "done" }>;
    // deltas are the raw text; `done` carries the verified answer
    assert.ok(deltas.join("").length > 0);
    assert.equal(done.data.answer, whole.answer);
    const sources = events[0] as Extract<AnswerEvent, { event: "sources" }>;
    assert.deepEqual(
      sources.data.map((source) => source.chunk_id),
      done.data.sources.map((source) => source.chunk_id),
    );

    const stream = client.answerStream("missing", { question });
    await rejectsWith(stream.next(), { type: "not_found", status: 404 });
  });
});

describe("typed client with API keys", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      GLEANER_API_KEYS: "full-key",
      GLEANER_READ_API_KEYS: "read-key",
    });
  });
  after(() => server.close());

  test("sends the key, reads it per request, and types 401 and 403", async () => {
    await rejectsWith(createGleanerClient({ baseUrl: server.url }).collections.list(), {
      type: "unauthorized",
      status: 401,
    });
    let key = "read-key";
    const client = createGleanerClient({ baseUrl: `${server.url}/`, apiKey: () => key });
    assert.ok((await client.collections.list()).length >= 1);
    await rejectsWith(client.collections.create({ name: "nope" }), {
      type: "forbidden",
      status: 403,
    });
    await rejectsWith(client.documents.addText("default", { text: "x" }), {
      type: "forbidden",
      status: 403,
    });
    key = "full-key";
    assert.equal((await client.collections.create({ name: "yes" })).name, "yes");
  });
});

describe("event-stream parsing", () => {
  const body =
    'event: sources\ndata: []\n\n: comment\r\nevent: delta\r\ndata: {"text":"a\\nb"}\r\n\r\nevent: delta\rdata: {"text":"c"}\r\rdata: ignored, cut off';

  test("frames events the same however the bytes are split", async () => {
    const expected = [
      { event: "sources", data: "[]" },
      { event: "delta", data: '{"text":"a\\nb"}' },
      { event: "delta", data: '{"text":"c"}' },
    ];
    for (let split = 0; split <= body.length; split++) {
      const events = [];
      for await (const event of parseEventStream(
        streamOf([body.slice(0, split), body.slice(split)]),
      )) {
        events.push(event);
      }
      assert.deepEqual(events, expected, `split at ${split}`);
    }
  });

  test("multi-line data joins with newlines; unnamed events are 'message'", async () => {
    const events = [];
    for await (const event of parseEventStream(streamOf(["data: one\ndata:two\n\n"]))) {
      events.push(event);
    }
    assert.deepEqual(events, [{ event: "message", data: "one\ntwo" }]);
  });

  test("an error event ends an answer stream as a typed GleanerError", async () => {
    const events = answerEvents(
      streamOf([
        'event: delta\ndata: {"text":"partial"}\n\n',
        'event: error\ndata: {"error":{"type":"upstream_error","message":"The model failed.","param":null,"request_id":"r1"}}\n\n',
      ]),
    );
    assert.deepEqual((await events.next()).value, { event: "delta", data: { text: "partial" } });
    const error = await rejectsWith(events.next(), { type: "upstream_error", status: 502 });
    assert.equal(error.message, "The model failed.");
    assert.equal(error.requestId, "r1");
  });
});
