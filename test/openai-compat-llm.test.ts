/*
 * /openai/v1/responses with an upstream Responses API (the local OpenAI-compatible test server):
 * Gleaner searches, sends the chunks up, and returns OpenAI's shapes with verified citations.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import OpenAI, { toFile } from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import {
  type OpenAIServer,
  type ResponderRequest,
  startOpenAIServer,
} from "./support/openai-server/index.ts";
import { openaiSpec } from "./support/openai-spec.ts";
import { startTestServer, type TestServer } from "./support/test-server.ts";

const spec = openaiSpec();
if (spec.skipReason) console.log(`schema checks skipped: ${spec.skipReason}`);

const DOCUMENTS = {
  "wing.txt":
    "Wind tunnel report. The lift increase due to the slipstream was about twelve percent at low speed.",
  "rocket.txt": "Rocket nozzles expand hot gas. Nozzle erosion limits the burn time of the motor.",
};

function sourceNumberOf(request: ResponderRequest, needle: string): number {
  for (const match of request.inputText.matchAll(
    /<source n="(\d+)"[^>]*>\n([\s\S]*?)\n<\/source>/g,
  )) {
    if ((match[2] as string).includes(needle)) return Number(match[1]);
  }
  throw new Error(`no source has "${needle}"`);
}

describe("responses with file_search through the upstream Responses API", () => {
  let upstream: OpenAIServer;
  let server: TestServer;
  let client: OpenAI;
  let storeId: string;
  const fileIds: Record<string, string> = {};

  before(async () => {
    upstream = await startOpenAIServer();
    server = await startTestServer({
      OPENAI_API_KEY: "test",
      OPENAI_BASE_URL: upstream.baseURL,
      GLEANER_OPENAI_MAX_RETRIES: "0",
    });
    client = new OpenAI({ apiKey: "unused", baseURL: `${server.url}/openai/v1`, maxRetries: 0 });
    // a local-embedding collection: the upstream server answers, the embedder stays local
    const created = await fetch(`${server.url}/v1/collections`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "probe", embedding: { provider: "local" } }),
    });
    assert.equal(created.status, 201);
    const store = await client.vectorStores.create({ name: "reports" });
    storeId = store.id;
    for (const [name, text] of Object.entries(DOCUMENTS)) {
      const file = await client.files.create({
        file: await toFile(Buffer.from(text), name, { type: "text/plain" }),
        purpose: "assistants",
      });
      fileIds[name] = file.id;
      const attached = await client.vectorStores.files.createAndPoll(
        storeId,
        { file_id: file.id, attributes: { kind: name.replace(".txt", "") } },
        { pollIntervalMs: 50 },
      );
      assert.equal(attached.status, "completed", JSON.stringify(attached.last_error));
    }
  });
  after(async () => {
    await server?.close();
    await upstream?.close();
  });
  beforeEach(() => upstream.reset());

  const lastUpstreamBody = (): { model: string; input: string } =>
    upstream.requestsTo("/v1/responses", "POST").at(-1)?.body as { model: string; input: string };

  test("the answer cites files; the model asked for is the one called", async () => {
    upstream.setResponder((request) => {
      const wing = sourceNumberOf(request, "twelve percent");
      return {
        text: JSON.stringify({
          answer: `Lift rose about twelve percent [${wing}].`,
          citations: [
            {
              n: wing,
              quote:
                "The lift increase due to the slipstream was about twelve percent at low speed.",
            },
          ],
          insufficient_context: false,
        }),
      };
    });
    const response = await client.responses.create({
      model: "gpt-4o-mini",
      input: "How much did lift increase in the slipstream?",
      tools: [{ type: "file_search", vector_store_ids: [storeId] }],
    });
    spec.assert("Response", response);
    assert.equal(lastUpstreamBody().model, "gpt-4o-mini");
    assert.match(lastUpstreamBody().input, /twelve percent/, "the retrieved chunks went up");
    assert.equal(response.model, "gpt-4o-mini");
    assert.equal(response.output_text, "Lift rose about twelve percent.");
    const message = response.output[1];
    assert.ok(message?.type === "message");
    const part = message.content[0];
    assert.ok(part?.type === "output_text");
    assert.deepEqual(
      part.annotations.map((annotation) => ({ ...annotation })),
      [
        {
          type: "file_citation",
          file_id: fileIds["wing.txt"],
          filename: "wing.txt",
          index: "Lift rose about twelve percent".length,
          chunk_id: (part.annotations[0] as unknown as { chunk_id: string }).chunk_id,
          page_start: null,
          page_end: null,
          char_start: 20,
          char_end: 98,
          quote: "The lift increase due to the slipstream was about twelve percent at low speed.",
        },
      ],
    );
    assert.ok((response.usage?.output_tokens ?? 0) > 0);
  });

  test("the tool's filter keeps other files out of what goes up", async () => {
    upstream.setResponder(() => ({
      text: JSON.stringify({
        answer: "Not in the sources.",
        citations: [],
        insufficient_context: true,
      }),
    }));
    await client.responses.create({
      model: "gpt-4o-mini",
      input: "How much did lift increase in the slipstream?",
      tools: [
        {
          type: "file_search",
          vector_store_ids: [storeId],
          filters: { type: "eq", key: "kind", value: "rocket" },
        },
      ],
    });
    const input = lastUpstreamBody().input;
    assert.match(input, /Nozzle erosion/);
    assert.doesNotMatch(input, /twelve percent/);
  });

  test("streamed: deltas without markers, an annotation event, valid events throughout", async () => {
    upstream.setResponder((request) => ({
      text: `Lift rose about twelve percent [${sourceNumberOf(request, "twelve percent")}]. That is all.`,
    }));
    const stream = await client.responses.create({
      model: "gpt-4o-mini",
      input: "How much did lift increase in the slipstream?",
      tools: [{ type: "file_search", vector_store_ids: [storeId] }],
      include: ["file_search_call.results"],
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) {
      spec.assert("ResponseStreamEvent", event);
      events.push(event);
    }
    const deltas = events
      .filter((event) => event.type === "response.output_text.delta")
      .map((event) => (event as { delta: string }).delta);
    assert.equal(deltas.join(""), "Lift rose about twelve percent. That is all.");
    const annotation = events.find(
      (event) => event.type === "response.output_text.annotation.added",
    ) as { annotation: { file_id: string; index: number } } | undefined;
    assert.equal(annotation?.annotation.file_id, fileIds["wing.txt"]);
    assert.equal(annotation?.annotation.index, "Lift rose about twelve percent".length);
    const completed = events.at(-1);
    assert.ok(completed?.type === "response.completed");
    const call = completed.response.output[0];
    assert.ok(call?.type === "file_search_call");
    assert.ok((call.results?.length ?? 0) > 0, "include asked for the results");
  });
});
