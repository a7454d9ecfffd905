import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import OpenAI, { type ClientOptions, toFile } from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { z } from "zod";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";

let server: OpenAIServer;

before(async () => {
  server = await startOpenAIServer();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());
afterEach(() => {
  // Every reply and stream event this server sent must match the official spec.
  assert.deepEqual(server.conformanceProblems, []);
});

function client(options: Partial<ClientOptions> = {}): OpenAI {
  return new OpenAI({
    apiKey: "test",
    baseURL: server.baseURL,
    maxRetries: 0,
    timeout: 5000,
    ...options,
  });
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  for (const [index, value] of a.entries()) dot += value * (b[index] ?? 0);
  return dot;
}

async function rawPost(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.baseURL}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer test", "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function expectOpenAIError(
  response: Response,
  status: number,
  expected: { param?: string | null; code?: string | null; type?: string },
): Promise<string> {
  assert.equal(response.status, status);
  const body: unknown = await response.json();
  assert.ok(typeof body === "object" && body !== null && "error" in body);
  const error = body.error;
  assert.ok(typeof error === "object" && error !== null);
  assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"]);
  const { message, type, param, code } = error as Record<string, unknown>;
  assert.equal(typeof message, "string");
  assert.equal(type, expected.type ?? "invalid_request_error");
  if (expected.param !== undefined) assert.equal(param, expected.param);
  if (expected.code !== undefined) assert.equal(code, expected.code);
  return String(message);
}

describe("embeddings", () => {
  it("returns the same vectors as float and as the SDK's default base64", async () => {
    const openai = client();
    const input = ["hybrid search over documents", "reciprocal rank fusion"];
    const asFloat = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input,
      encoding_format: "float",
    });
    const viaBase64 = await openai.embeddings.create({ model: "text-embedding-3-small", input });
    assert.equal(asFloat.data.length, 2);
    assert.deepEqual(
      viaBase64.data.map((item) => item.embedding),
      asFloat.data.map((item) => item.embedding),
    );
    const [floatRequest, base64Request] = server.requestsTo("/v1/embeddings");
    assert.ok(floatRequest && base64Request);
    assert.equal((floatRequest.body as { encoding_format?: string }).encoding_format, "float");
    // The SDK asks for base64 unless told otherwise, and decodes it itself.
    assert.equal((base64Request.body as { encoding_format?: string }).encoding_format, "base64");
    assert.equal(base64Request.headers.authorization, "Bearer test");
    assert.equal(base64Request.headers["x-stainless-retry-count"], "0");
    // cl100k: 5 + 5 tokens.
    assert.equal(asFloat.usage.prompt_tokens, 10);
    assert.equal(asFloat.usage.total_tokens, 10);
  });

  it("honours dimensions and model defaults, and rejects what OpenAI rejects", async () => {
    const openai = client();
    const small = await openai.embeddings.create({ model: "text-embedding-3-small", input: "a" });
    const large = await openai.embeddings.create({ model: "text-embedding-3-large", input: "a" });
    const reduced = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input: "a",
      dimensions: 256,
    });
    assert.equal(small.data[0]?.embedding.length, 1536);
    assert.equal(large.data[0]?.embedding.length, 3072);
    assert.equal(reduced.data[0]?.embedding.length, 256);
    const norm = Math.hypot(...(reduced.data[0]?.embedding ?? []));
    assert.ok(Math.abs(norm - 1) < 1e-5);

    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-3-small", input: "a", dimensions: 4096 }),
      (error) => error instanceof OpenAI.BadRequestError && error.param === "dimensions",
    );
    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-ada-002", input: "a", dimensions: 256 }),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      openai.embeddings.create({ model: "no-such-model", input: "a" }),
      (error) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
  });

  it("puts similar texts nearer than dissimilar ones", async () => {
    const result = await client().embeddings.create({
      model: "text-embedding-3-small",
      input: [
        "How do I reset my password?",
        "Password reset: open settings and choose reset password.",
        "Quarterly revenue grew by ten percent in Europe.",
      ],
    });
    const [query, similar, dissimilar] = result.data.map((item) => item.embedding);
    assert.ok(query && similar && dissimilar);
    assert.ok(cosine(query, similar) > cosine(query, dissimilar) + 0.3);
  });

  it("accepts token arrays and counts their tokens", async () => {
    const result = await client().embeddings.create({
      model: "text-embedding-3-small",
      input: [[9906, 1917], [15339]],
    });
    assert.equal(result.data.length, 2);
    assert.equal(result.usage.prompt_tokens, 3);
  });

  it("enforces OpenAI's input limits", async () => {
    const openai = client();
    await assert.rejects(
      openai.embeddings.create({
        model: "text-embedding-3-small",
        input: Array.from({ length: 2049 }, () => "x"),
      }),
      (error) => error instanceof OpenAI.BadRequestError && error.code === "array_above_max_length",
    );
    await assert.rejects(
      openai.embeddings.create({
        model: "text-embedding-3-small",
        input: [Array.from({ length: 8192 }, () => 1000)],
      }),
      (error) =>
        error instanceof OpenAI.BadRequestError &&
        /maximum context length is 8191/.test(error.message),
    );
    const tokens = Array.from({ length: 8000 }, () => 1000);
    await assert.rejects(
      openai.embeddings.create({
        model: "text-embedding-3-small",
        input: Array.from({ length: 38 }, () => tokens),
      }),
      (error) => error instanceof OpenAI.BadRequestError && error.code === "max_tokens_per_request",
    );
  });
});

describe("request validation and errors", () => {
  it("rejects bodies that do not match the spec with OpenAI's error envelope", async (t) => {
    if (!server.schemaValidation) return t.skip("shared/openai-openapi/openapi.json not found");
    const wrongType = await rawPost("/embeddings", { model: "text-embedding-3-small", input: 5 });
    const message = await expectOpenAIError(wrongType, 400, {
      param: "input",
      code: "invalid_type",
    });
    assert.match(message, /Invalid type for 'input'/);
    await expectOpenAIError(await rawPost("/embeddings", { input: "x" }), 400, {
      param: "model",
      code: "missing_required_parameter",
    });
    await expectOpenAIError(
      await rawPost("/embeddings", { model: "m", input: "x", colour: "red" }),
      400,
      {
        param: "colour",
        code: "unknown_parameter",
      },
    );
    await expectOpenAIError(
      await rawPost("/responses", { model: "gpt-5-mini", input: "x", max_output_tokens: 5 }),
      400,
      {
        param: "max_output_tokens",
      },
    );
    await expectOpenAIError(
      await rawPost("/responses", { model: "gpt-5-mini", input: "x", temprature: 1 }),
      400,
      {
        code: "unknown_parameter",
      },
    );
    const record = server.requestsTo("/v1/embeddings")[0];
    assert.equal(record?.validation?.ok, false);
  });

  it("answers 400 for broken JSON, 401 without a key and 404 for unknown routes", async () => {
    await expectOpenAIError(await rawPost("/embeddings", "{not json"), 400, {
      param: null,
      code: null,
    });
    const noKey = await fetch(`${server.baseURL}/embeddings`, { method: "POST", body: "{}" });
    assert.match(await expectOpenAIError(noKey, 401, {}), /You didn't provide an API key/);
    await expectOpenAIError(await rawPost("/nothing-here", {}), 404, { param: null });
  });
});

describe("fault injection", () => {
  it("lets the SDK retry 429s, honouring retry-after-ms over retry-after", async () => {
    server.injectFaults([
      { path: "/v1/embeddings", status: 429, retryAfter: 1, retryAfterMs: 20, times: 2 },
    ]);
    const started = Date.now();
    const result = await client({ maxRetries: 2 }).embeddings.create({
      model: "text-embedding-3-small",
      input: "x",
    });
    assert.equal(result.data.length, 1);
    assert.ok(Date.now() - started < 900, "retry-after-ms (20 ms) wins over retry-after (1 s)");
    const seen = server.requestsTo("/v1/embeddings");
    assert.equal(seen.length, 3);
    assert.deepEqual(
      seen.map((record) => [record.status, record.headers["x-stainless-retry-count"]]),
      [
        [429, "0"],
        [429, "1"],
        [200, "2"],
      ],
    );
  });

  it("makes the SDK wait retry-after seconds when that is all it gets", async () => {
    server.injectFaults([{ path: "/v1/embeddings", status: 429, retryAfter: 0.3 }]);
    const started = Date.now();
    await client({ maxRetries: 1 }).embeddings.create({
      model: "text-embedding-3-small",
      input: "x",
    });
    assert.ok(Date.now() - started >= 290);
  });

  it("fails with InternalServerError after retries against a dead upstream", async () => {
    server.setDeadUpstream({ retryAfterMs: 5 });
    await assert.rejects(
      client({ maxRetries: 2 }).embeddings.create({ model: "text-embedding-3-small", input: "x" }),
      OpenAI.InternalServerError,
    );
    assert.equal(server.requestsTo("/v1/embeddings").length, 3);
    server.setDeadUpstream(false);
    await client().embeddings.create({ model: "text-embedding-3-small", input: "x" });
  });

  it("times out a slow reply with APIConnectionTimeoutError", async () => {
    server.injectFaults([{ path: "/v1/embeddings", delayMs: 3000 }]);
    const started = Date.now();
    await assert.rejects(
      client({ timeout: 300 }).embeddings.create({ model: "text-embedding-3-small", input: "x" }),
      OpenAI.APIConnectionTimeoutError,
    );
    assert.ok(Date.now() - started < 1500);
    const record = await server.waitForRequest((entry) => entry.aborted);
    assert.equal(record.path, "/v1/embeddings");
  });

  it("serves a raw truncated body, a 503 and a dropped connection when asked", async () => {
    server.injectFaults([
      { path: "/v1/embeddings", body: '{"object":"list","data":[{"obj', status: 200 },
      { path: "/v1/embeddings", status: 503 },
      { path: "/v1/embeddings", dropConnection: true },
    ]);
    const openai = client();
    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-3-small", input: "x" }),
      SyntaxError,
    );
    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-3-small", input: "x" }),
      (error) => error instanceof OpenAI.InternalServerError && error.status === 503,
    );
    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-3-small", input: "x" }),
      OpenAI.APIConnectionError,
    );
    assert.deepEqual(
      server.requestsTo("/v1/embeddings").map((record) => record.status),
      [200, 503, null],
    );
  });
});

describe("responses", () => {
  it("replies with a spec-shaped Response and plausible usage", async () => {
    const response = await client().responses.create({
      model: "gpt-5-mini",
      instructions: "Answer briefly.",
      input: "What is hybrid search?",
      reasoning: { effort: "low" },
      text: { verbosity: "low" },
    });
    assert.match(response.id, /^resp_/);
    assert.equal(response.status, "completed");
    assert.equal(
      response.output_text,
      "This is a deterministic test reply to: What is hybrid search?",
    );
    assert.ok(response.usage && response.usage.input_tokens > 5);
    assert.equal(
      response.usage.total_tokens,
      response.usage.input_tokens + response.usage.output_tokens,
    );
  });

  it("parses structured output with zodTextFormat", async () => {
    const Answer = z.object({ answer: z.string(), citations: z.array(z.number()) });
    server.setResponder((request) => {
      assert.equal(request.jsonSchema?.type, "object");
      return { text: JSON.stringify({ answer: "Fusion of ranks.", citations: [1, 3] }) };
    });
    const parsed = await client().responses.parse({
      model: "gpt-5-mini",
      input: "Explain RRF",
      text: { format: zodTextFormat(Answer, "answer") },
    });
    assert.deepEqual(parsed.output_parsed, { answer: "Fusion of ranks.", citations: [1, 3] });
    server.setResponder();
    const byDefault = await client().responses.parse({
      model: "gpt-5-mini",
      input: "Explain RRF",
      text: { format: zodTextFormat(Answer, "answer") },
    });
    assert.ok(byDefault.output_parsed && Array.isArray(byDefault.output_parsed.citations));
  });

  it("streams deltas and a completed event", async () => {
    server.setResponder(() => ({
      text: "Chunks are ranked by fused scores.",
      reasoningTokens: 12,
    }));
    const stream = client().responses.stream({
      model: "gpt-5-mini",
      input: "How are chunks ranked?",
    });
    const types: string[] = [];
    const deltas: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas.push(event.delta);
    }
    const final = await stream.finalResponse();
    assert.ok(deltas.length > 3);
    assert.equal(deltas.join(""), "Chunks are ranked by fused scores.");
    assert.equal(final.output_text, "Chunks are ranked by fused scores.");
    assert.equal(final.usage?.output_tokens_details.reasoning_tokens, 12);
    assert.deepEqual(types.slice(0, 2), ["response.created", "response.in_progress"]);
    assert.equal(types.at(-1), "response.completed");
    assert.ok(
      types.includes("response.output_text.done") && types.includes("response.content_part.done"),
    );
    assert.equal(
      server.requestsTo("/v1/responses")[0]?.headers["x-stainless-helper-method"],
      "stream",
    );
  });

  it("streams with create({ stream: true }) and numbers events from 0", async () => {
    const events: ResponseStreamEvent[] = [];
    const stream = await client().responses.create({
      model: "gpt-5-mini",
      input: "hi there",
      stream: true,
    });
    for await (const event of stream) events.push(event);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, index) => index),
    );
    assert.equal(events.at(-1)?.type, "response.completed");
  });

  it("returns refusals as refusal content", async () => {
    server.setResponder(() => ({ refusal: "I can't help with that." }));
    const response = await client().responses.create({ model: "gpt-5-mini", input: "x" });
    const message = response.output[0];
    assert.ok(message?.type === "message");
    assert.deepEqual(message.content[0], { type: "refusal", refusal: "I can't help with that." });
    assert.equal(response.output_text, "");
    const types: string[] = [];
    for await (const event of client().responses.stream({ model: "gpt-5-mini", input: "x" }))
      types.push(event.type);
    assert.ok(types.includes("response.refusal.delta") && types.includes("response.refusal.done"));
  });

  it("reports incomplete responses, including ones cut at max_output_tokens", async () => {
    server.setResponder(() => ({ incomplete: "max_output_tokens", text: "Partial answ" }));
    const response = await client().responses.create({ model: "gpt-5-mini", input: "x" });
    assert.equal(response.status, "incomplete");
    assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(response.output_text, "Partial answ");
    const types: string[] = [];
    for await (const event of client().responses.stream({ model: "gpt-5-mini", input: "x" }))
      types.push(event.type);
    assert.equal(types.at(-1), "response.incomplete");

    server.setResponder(() => ({ text: "word ".repeat(100) }));
    const cut = await client().responses.create({
      model: "gpt-5-mini",
      input: "x",
      max_output_tokens: 16,
    });
    assert.equal(cut.status, "incomplete");
    assert.equal(cut.usage?.output_tokens, 16);
  });

  it("reports failed responses", async () => {
    server.setResponder(() => ({ failed: { code: "server_error", message: "Model crashed." } }));
    const response = await client().responses.create({ model: "gpt-5-mini", input: "x" });
    assert.equal(response.status, "failed");
    assert.deepEqual(response.error, { code: "server_error", message: "Model crashed." });
    const types: string[] = [];
    for await (const event of client().responses.stream({ model: "gpt-5-mini", input: "x" }))
      types.push(event.type);
    assert.equal(types.at(-1), "response.failed");
  });

  it("surfaces a mid-stream error: as an event (spec shape) or a thrown APIError (live shape)", async () => {
    server.setResponder(() => ({ text: "one two three four five", streamErrorAfterDeltas: 2 }));
    const seen: ResponseStreamEvent[] = [];
    for await (const event of await client().responses.create({
      model: "gpt-5-mini",
      input: "x",
      stream: true,
    })) {
      seen.push(event);
    }
    // openai-node only throws for a nested `error` object; the spec's flat event is yielded as data.
    const last = seen.at(-1);
    assert.ok(last?.type === "error");
    assert.equal(last.code, "server_error");
    assert.equal(seen.filter((event) => event.type === "response.output_text.delta").length, 2);
    // responses.stream() re-emits that event on its error channel: it rejects with the plain
    // event object, not an Error instance.
    await assert.rejects(
      client().responses.stream({ model: "gpt-5-mini", input: "x" }).finalResponse(),
      (error) => !(error instanceof Error) && (error as { type?: unknown }).type === "error",
    );

    server.setResponder(() => ({
      streamErrorAfterDeltas: 1,
      errorShape: "production",
      error: { code: "server_error", message: "Upstream fell over." },
    }));
    const stream = client().responses.stream({ model: "gpt-5-mini", input: "x" });
    await assert.rejects(
      stream.finalResponse(),
      (error) => error instanceof OpenAI.APIError && /Upstream fell over/.test(error.message),
    );
  });

  it("records a client abort in the middle of a stream", async () => {
    server.setResponder(() => ({ text: "word ".repeat(40), deltaDelayMs: 25 }));
    const controller = new AbortController();
    const stream = await client().responses.create(
      { model: "gpt-5-mini", input: "x", stream: true },
      { signal: controller.signal },
    );
    let deltas = 0;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta" && ++deltas === 3) controller.abort();
    }
    const record = await server.waitForRequest(
      (entry) => entry.path === "/v1/responses" && entry.aborted,
    );
    assert.equal(record.streamed, true);
    assert.equal(deltas, 3);
  });

  it("chains turns with previous_response_id and rejects unknown ids", async () => {
    const openai = client();
    const first = await openai.responses.create({
      model: "gpt-5-mini",
      input: "Remember the number 7.",
    });
    let historySeen = -1;
    server.setResponder((request) => {
      historySeen = request.history.length;
      return { text: `Earlier you said: ${request.history[0]?.inputText.trim()}` };
    });
    const second = await openai.responses.create({
      model: "gpt-5-mini",
      input: "Which number?",
      previous_response_id: first.id,
    });
    assert.equal(historySeen, 1);
    assert.equal(second.previous_response_id, first.id);
    assert.match(second.output_text, /Remember the number 7/);
    assert.ok((second.usage?.input_tokens ?? 0) > (first.usage?.input_tokens ?? 0));
    await assert.rejects(
      openai.responses.create({
        model: "gpt-5-mini",
        input: "x",
        previous_response_id: "resp_unknown",
      }),
      (error) =>
        error instanceof OpenAI.BadRequestError && error.code === "previous_response_not_found",
    );
    const unstored = await openai.responses.create({
      model: "gpt-5-mini",
      input: "x",
      store: false,
    });
    await assert.rejects(
      openai.responses.create({
        model: "gpt-5-mini",
        input: "y",
        previous_response_id: unstored.id,
      }),
      OpenAI.BadRequestError,
    );
  });
});

describe("files and batches", () => {
  async function uploadBatchInput(lines: unknown[]): Promise<string> {
    const jsonl = `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`;
    const file = await client().files.create({
      file: await toFile(Buffer.from(jsonl), "input.jsonl"),
      purpose: "batch",
    });
    assert.equal(file.purpose, "batch");
    assert.equal(file.bytes, Buffer.byteLength(jsonl));
    return file.id;
  }

  function embeddingLine(customId: string, input: string): unknown {
    return {
      custom_id: customId,
      method: "POST",
      url: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input, dimensions: 64 },
    };
  }

  async function pollUntilDone(openai: OpenAI, id: string): Promise<OpenAI.Batches.Batch> {
    const statuses: string[] = [];
    for (let polls = 0; polls < 20; polls++) {
      const batch = await openai.batches.retrieve(id);
      statuses.push(batch.status);
      if (["completed", "failed", "expired", "cancelled"].includes(batch.status)) return batch;
    }
    throw new Error(`batch never finished: ${statuses.join(" → ")}`);
  }

  it("runs an embeddings batch end to end", async () => {
    const openai = client();
    const inputFileId = await uploadBatchInput([
      embeddingLine("doc-1", "alpha"),
      embeddingLine("doc-2", "beta"),
      embeddingLine("doc-3", "gamma"),
    ]);
    const created = await openai.batches.create({
      input_file_id: inputFileId,
      endpoint: "/v1/embeddings",
      completion_window: "24h",
    });
    assert.equal(created.status, "validating");
    assert.equal((await openai.batches.retrieve(created.id)).status, "in_progress");
    const done = await pollUntilDone(openai, created.id);
    assert.equal(done.status, "completed");
    assert.deepEqual(done.request_counts, { total: 3, completed: 3, failed: 0 });
    assert.ok(done.output_file_id);
    assert.equal(done.error_file_id, undefined);

    const meta = await openai.files.retrieve(done.output_file_id);
    assert.equal(meta.purpose, "batch_output");
    const text = await (await openai.files.content(done.output_file_id)).text();
    const lines = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => line.custom_id),
      ["doc-1", "doc-2", "doc-3"],
    );
    for (const line of lines) {
      assert.equal(line.response.status_code, 200);
      assert.equal(line.error, null);
      assert.equal(line.response.body.data[0].embedding.length, 64);
    }
    const upload = server.requestsTo("/v1/files", "POST")[0];
    assert.equal(upload?.multipart?.fields.purpose, "batch");
    assert.equal(upload?.multipart?.files[0]?.filename, "input.jsonl");
  });

  it("cancels a batch: cancelling first, cancelled on the next poll", async () => {
    const openai = client();
    const inputFileId = await uploadBatchInput([embeddingLine("only", "text")]);
    const { id } = await openai.batches.create({
      input_file_id: inputFileId,
      endpoint: "/v1/embeddings",
      completion_window: "24h",
    });
    assert.equal((await openai.batches.cancel(id)).status, "cancelling");
    assert.equal((await openai.batches.retrieve(id)).status, "cancelled");
    await assert.rejects(openai.batches.cancel(id), OpenAI.BadRequestError);
  });

  it("writes failing lines to the error file, and can fail or expire whole batches", async () => {
    const openai = client();
    const lines = [
      embeddingLine("a", "one"),
      embeddingLine("b", "two"),
      embeddingLine("c", "three"),
      embeddingLine("d", "four"),
    ];

    server.setBatchBehaviour({ pollsPerStage: 0, failCustomIds: ["b"], failStatus: 500 });
    const partial = await pollUntilDone(
      openai,
      (
        await openai.batches.create({
          input_file_id: await uploadBatchInput(lines),
          endpoint: "/v1/embeddings",
          completion_window: "24h",
        })
      ).id,
    );
    assert.deepEqual(partial.request_counts, { total: 4, completed: 3, failed: 1 });
    assert.ok(partial.error_file_id);
    const errorLine = JSON.parse(
      (await (await openai.files.content(partial.error_file_id)).text()).trim(),
    );
    assert.equal(errorLine.custom_id, "b");
    assert.equal(errorLine.response.status_code, 500);

    server.setBatchBehaviour({ pollsPerStage: 0, outcome: "expired" });
    const expired = await pollUntilDone(
      openai,
      (
        await openai.batches.create({
          input_file_id: await uploadBatchInput(lines),
          endpoint: "/v1/embeddings",
          completion_window: "24h",
        })
      ).id,
    );
    assert.equal(expired.status, "expired");
    assert.deepEqual(expired.request_counts, { total: 4, completed: 2, failed: 2 });

    server.setBatchBehaviour({ pollsPerStage: 0, outcome: "failed" });
    const failed = await pollUntilDone(
      openai,
      (
        await openai.batches.create({
          input_file_id: await uploadBatchInput(lines),
          endpoint: "/v1/embeddings",
          completion_window: "24h",
        })
      ).id,
    );
    assert.equal(failed.status, "failed");
    assert.equal(failed.output_file_id, undefined);

    server.setBatchBehaviour({ pollsPerStage: 0 });
    const badInput = await uploadBatchInput([
      embeddingLine("x", "one"),
      { custom_id: "x", method: "POST", url: "/v1/chat/completions", body: {} },
    ]);
    const invalid = await pollUntilDone(
      openai,
      (
        await openai.batches.create({
          input_file_id: badInput,
          endpoint: "/v1/embeddings",
          completion_window: "24h",
        })
      ).id,
    );
    assert.equal(invalid.status, "failed");
    assert.deepEqual(
      invalid.errors?.data?.map((error) => [error.line, error.code]),
      [
        [2, "duplicate_custom_id"],
        [2, "mismatched_endpoint"],
      ],
    );
  });
});

describe("without the spec", () => {
  it("still serves requests, without schema validation", async () => {
    const bare = await startOpenAIServer({ specPath: null });
    try {
      assert.equal(bare.schemaValidation, false);
      const openai = new OpenAI({ apiKey: "test", baseURL: bare.baseURL, maxRetries: 0 });
      const result = await openai.embeddings.create({
        model: "text-embedding-3-small",
        input: "x",
        dimensions: 8,
      });
      assert.equal(result.data[0]?.embedding.length, 8);
      await assert.rejects(
        // @ts-expect-error: deliberately the wrong type
        openai.embeddings.create({ model: "text-embedding-3-small", input: 5 }),
        OpenAI.BadRequestError,
      );
    } finally {
      await bare.close();
    }
  });
});
