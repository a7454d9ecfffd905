import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { RateBudget } from "../src/embed/rate-budget.ts";
import { countTokens } from "../src/ingest/tokenizer.ts";
import { embeddingCostUsd, responseCostUsd } from "../src/pricing.ts";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

let openai: OpenAIServer;
let gleaner: TestServer | null = null;

before(async () => {
  // large enough to keep the bodies of 300k-token requests for the packing assertions
  openai = await startOpenAIServer({ maxRecordedBodyBytes: 8 * 1024 * 1024 });
});
after(async () => {
  await openai.close();
});
beforeEach(() => openai.reset());
afterEach(async () => {
  await gleaner?.close();
  gleaner = null;
  // every reply the local OpenAI server sent must itself match the official description
  assert.deepEqual(openai.conformanceProblems, []);
});

async function startGleaner(env: Record<string, string> = {}): Promise<TestServer> {
  gleaner = await startTestServer({
    OPENAI_API_KEY: "test",
    OPENAI_BASE_URL: openai.baseURL,
    GLEANER_OPENAI_MAX_RETRIES: "2",
    GLEANER_OPENAI_TIMEOUT_MS: "10000",
    ...env,
  });
  return gleaner;
}

/** Deterministic prose of made-up words, so no two chunks repeat (repeats would be cached). */
export function prose(words: number, seed = 1): string {
  const syllables = ["ka", "lo", "mi", "ten", "sar", "ul", "ve", "qui", "dor", "pha", "zen", "ir"];
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    const length = 1 + (next() % 3);
    let word = "";
    for (let s = 0; s < length; s++) word += syllables[next() % syllables.length];
    out.push(i % 12 === 11 ? `${word}.` : word);
  }
  return out.join(" ");
}

function embeddingRequests() {
  return openai.requestsTo("/v1/embeddings", "POST");
}

function inputsOf(body: unknown): string[] {
  const input = (body as { input: unknown }).input;
  return Array.isArray(input) ? (input as string[]) : [input as string];
}

describe("OpenAI embeddings through the real Gleaner server", () => {
  it("sends spec-conformant requests and honours the collection's dimensions end to end", async () => {
    const server = await startGleaner();
    const created = await call(server, "POST", "/v1/collections", {
      name: "small",
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 256 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.embedding, {
      provider: "openai",
      model: "text-embedding-3-small",
      dimensions: 256,
    });
    const uploaded = await call(server, "POST", "/v1/collections/small/documents", {
      id: "wing",
      text: "The boundary layer over a swept wing thickens toward the tip.",
    });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.status, "ready");
    const found = await call(server, "POST", "/v1/collections/small/search", {
      query: "swept wing boundary layer",
      mode: "vector",
    });
    assert.equal(found.status, 200);
    assert.equal(found.body.data[0]?.document_id, "wing");

    const requests = embeddingRequests();
    assert.ok(requests.length >= 2, "one call for the document, one for the query");
    for (const request of requests) {
      assert.equal(request.validation?.ok, true, JSON.stringify(request.validation));
      assert.equal(request.status, 200);
      const body = request.body as Record<string, unknown>;
      assert.equal(body.model, "text-embedding-3-small");
      assert.equal(body.dimensions, 256);
      assert.equal(body.encoding_format, "base64");
    }
    // the index takes 256-d queries and nothing else
    const { store } = server.runtime.services;
    const hits = await store.vectorSearch({
      collection: "small",
      vector: new Float32Array(256).fill(1),
      k: 1,
    });
    assert.equal(hits.length, 1);
    await assert.rejects(
      store.vectorSearch({ collection: "small", vector: new Float32Array(512).fill(1), k: 1 }),
      /256/,
    );
  });

  it("validates per-collection embedding configs: small <= 1536, large <= 3072", async () => {
    const server = await startGleaner();
    const cases: [unknown, number, string | null][] = [
      [{ provider: "openai", model: "text-embedding-3-small", dimensions: 1536 }, 201, null],
      [
        { provider: "openai", model: "text-embedding-3-small", dimensions: 1537 },
        400,
        "embedding.dimensions",
      ],
      [{ provider: "openai", model: "text-embedding-3-large" }, 201, null],
      [
        { provider: "openai", model: "text-embedding-3-large", dimensions: 3073 },
        400,
        "embedding.dimensions",
      ],
    ];
    for (const [index, [embedding, status, param]] of cases.entries()) {
      const response = await call(server, "POST", "/v1/collections", {
        name: `c${index}`,
        embedding,
      });
      assert.equal(response.status, status, JSON.stringify(response.body));
      if (param) assert.equal(response.body.error.param, param);
    }
    const large = await call(server, "GET", "/v1/collections/c2");
    assert.equal(
      large.body.embedding.dimensions,
      512,
      "GLEANER_EMBEDDING_DIMENSIONS is the default",
    );
    const full = await call(server, "POST", "/v1/collections", {
      name: "full",
      embedding: { provider: "openai", model: "text-embedding-3-large", dimensions: 3072 },
    });
    assert.equal(full.status, 201);
    const uploaded = await call(server, "POST", "/v1/collections/full/documents", {
      text: "Large vectors.",
    });
    assert.equal(uploaded.status, 201);
    const last = embeddingRequests().at(-1);
    assert.equal((last?.body as { dimensions?: number } | undefined)?.dimensions, 3072);
    assert.equal(
      (
        await server.runtime.services.store.vectorSearch({
          collection: "full",
          vector: new Float32Array(3072).fill(1),
          k: 1,
        })
      ).length,
      1,
    );
  });

  it("packs requests within 2048 inputs, 300k tokens per request and 8191 per input", async (t) => {
    // a 300k-token request takes the local server seconds to count and embed
    const server = await startGleaner({ GLEANER_OPENAI_TIMEOUT_MS: "120000" });
    for (const [name, maxTokens] of [
      ["big-chunks", 8000],
      ["tiny-chunks", 16],
    ] as const) {
      const created = await call(server, "POST", "/v1/collections", {
        name,
        embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 64 },
        chunking: { max_tokens: maxTokens, overlap_tokens: 0 },
      });
      assert.equal(created.status, 201);
    }
    // ~330k tokens in ~8000-token chunks: the 300k-token limit forces a second request
    const bigStart = embeddingRequests().length;
    const big = await call(server, "POST", "/v1/collections/big-chunks/documents", {
      id: "big",
      text: prose(150_000, 7),
    });
    assert.equal(big.status, 201, JSON.stringify(big.body).slice(0, 300));
    const bigRequests = embeddingRequests().slice(bigStart);
    // ~2,300 chunks of 16 tokens: the 2,048-input limit forces at least 2 requests
    const tinyStart = embeddingRequests().length;
    const tiny = await call(server, "POST", "/v1/collections/tiny-chunks/documents", {
      id: "tiny",
      text: prose(11_000, 11),
    });
    assert.equal(tiny.status, 201);
    const tinyRequests = embeddingRequests().slice(tinyStart);

    assert.ok(
      bigRequests.length >= 2,
      `${bigRequests.length} requests for ${big.body.token_count} tokens`,
    );
    assert.ok(
      tinyRequests.length >= 2,
      `${tinyRequests.length} requests for ${tiny.body.chunk_count} chunks`,
    );
    assert.ok(tiny.body.chunk_count > 2048);
    for (const [label, requests, document] of [
      ["big", bigRequests, big.body],
      ["tiny", tinyRequests, tiny.body],
    ] as const) {
      let inputs = 0;
      let billed = 0;
      for (const request of requests) {
        assert.equal(request.status, 200);
        assert.equal(request.bodyOmitted, false);
        assert.equal(request.validation?.ok, true);
        const values = inputsOf(request.body);
        const tokens = values.map(countTokens);
        assert.ok(values.length <= 2048, `${label}: ${values.length} inputs`);
        assert.ok(
          tokens.every((count) => count <= 8191),
          `${label}: an input over 8191 tokens`,
        );
        const sum = tokens.reduce((a, b) => a + b, 0);
        assert.ok(sum <= 300_000, `${label}: ${sum} tokens in one request`);
        inputs += values.length;
        billed += sum;
      }
      assert.equal(inputs, document.chunk_count, `${label}: every chunk embedded once`);
      assert.equal(document.embedding_tokens, billed, `${label}: embedding_tokens = usage`);
      t.diagnostic(
        `${label}: ${document.chunk_count} chunks, ${document.token_count} tokens -> ${requests.length} requests, inputs per request ${requests.map((r) => inputsOf(r.body).length).join("/")}`,
      );
    }
  });

  it("rides out two 429s (retry-after honoured by the SDK) and ends ready", async () => {
    const server = await startGleaner({ GLEANER_OPENAI_MAX_RETRIES: "2" });
    openai.injectFaults([{ path: "/v1/embeddings", status: 429, retryAfterMs: 20, times: 2 }]);
    const uploaded = await call(server, "POST", "/v1/collections/default/documents", {
      id: "patient",
      text: "Persistence through rate limits.",
    });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.status, "ready");
    assert.deepEqual(
      embeddingRequests().map((request) => request.status),
      [429, 429, 200],
    );
  });

  it("a dead upstream gives 502 upstream_error, leaves nothing searchable, and a later retry succeeds", async () => {
    const server = await startGleaner({ GLEANER_OPENAI_MAX_RETRIES: "1" });
    openai.setDeadUpstream({ path: "/v1/embeddings", status: 500, retryAfterMs: 5 });
    const text = "Quuxification of the zorbulator membrane.";
    const failed = await call(server, "POST", "/v1/collections/default/documents", {
      id: "dead",
      text,
    });
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.type, "upstream_error");
    assert.match(failed.body.error.message, /500/);
    assert.equal(embeddingRequests().length, 2, "one try and one SDK retry, nothing more");
    assert.equal((await call(server, "GET", "/v1/collections/default/documents/dead")).status, 404);
    // queued uploads are kept, marked failed with the error
    const queued = await call(server, "POST", "/v1/collections/default/documents?wait=false", {
      id: "queued",
      text,
    });
    assert.equal(queued.status, 202);
    let document: any;
    for (let i = 0; i < 200; i++) {
      document = (await call(server, "GET", "/v1/collections/default/documents/queued")).body;
      if (document.status === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(document.status, "failed");
    assert.equal(document.error.type, "upstream_error");
    const keyword = await call(server, "POST", "/v1/collections/default/search", {
      query: "zorbulator",
      mode: "keyword",
    });
    assert.deepEqual(keyword.body.data, []);

    openai.setDeadUpstream(false);
    const retried = await call(server, "POST", "/v1/collections/default/documents", {
      id: "queued",
      text,
    });
    assert.equal(retried.status, 201);
    assert.equal(retried.body.status, "ready");
    const found = await call(server, "POST", "/v1/collections/default/search", {
      query: "zorbulator",
      mode: "keyword",
    });
    assert.equal(found.body.data[0]?.document_id, "queued");
  });

  it("times out cleanly on a slow upstream, and maps a truncated reply", async () => {
    const server = await startGleaner({
      GLEANER_OPENAI_MAX_RETRIES: "1",
      GLEANER_OPENAI_TIMEOUT_MS: "200",
    });
    openai.injectFaults([{ path: "/v1/embeddings", delayMs: 3000, times: 2 }]);
    const slow = await call(server, "POST", "/v1/collections/default/documents", {
      id: "slow",
      text: "Slow replies.",
    });
    assert.equal(slow.status, 502);
    assert.equal(slow.body.error.type, "upstream_error");
    assert.match(slow.body.error.message, /did not answer in time/);
    const attempts = embeddingRequests();
    assert.equal(attempts.length, 2);

    openai.injectFaults([
      { path: "/v1/embeddings", status: 200, body: '{"object":"list","data":[{"obj' },
    ]);
    const truncated = await call(server, "POST", "/v1/collections/default/documents", {
      id: "cut",
      text: "Cut short.",
    });
    assert.equal(truncated.status, 502);
    assert.equal(truncated.body.error.type, "upstream_error");
    assert.match(truncated.body.error.message, /not valid JSON/);
  });

  it("never pays twice for identical text, and reports tokens per document and collection", async () => {
    const server = await startGleaner();
    const text = `${prose(900, 3)}\n\n${prose(900, 4)}`;
    const first = await call(server, "POST", "/v1/collections/default/documents", {
      id: "one",
      text,
    });
    assert.equal(first.status, 201);
    const billed = embeddingRequests().reduce(
      (sum, request) =>
        sum +
        inputsOf(request.body)
          .map(countTokens)
          .reduce((a, b) => a + b, 0),
      0,
    );
    assert.ok(first.body.embedding_tokens > 0);
    assert.equal(first.body.embedding_tokens, billed);
    const calls = server.embedCalls();
    const requests = embeddingRequests().length;

    const copy = await call(server, "POST", "/v1/collections/default/documents", {
      id: "two",
      text,
    });
    assert.equal(copy.status, 201);
    assert.equal(copy.body.embedding_tokens, 0);
    const again = await call(server, "POST", "/v1/collections/default/documents", {
      id: "one",
      text,
    });
    assert.equal(again.status, 200, "same id and content: a no-op");
    await call(server, "DELETE", "/v1/collections/default/documents/one");
    const reupload = await call(server, "POST", "/v1/collections/default/documents", {
      id: "one",
      text,
    });
    assert.equal(reupload.status, 201);
    assert.equal(reupload.body.embedding_tokens, 0);
    assert.equal(server.embedCalls(), calls, "no embedding calls for identical content");
    assert.equal(embeddingRequests().length, requests);

    const collection = await call(server, "GET", "/v1/collections/default");
    assert.equal(collection.body.embedding_tokens, 0, "the cache paid for both current documents");
    const third = await call(server, "POST", "/v1/collections/default/documents", {
      id: "three",
      text: "Brand new words here.",
    });
    const after = await call(server, "GET", "/v1/collections/default");
    assert.equal(after.body.embedding_tokens, third.body.embedding_tokens);
    assert.equal(third.body.embedding_tokens, countTokens("Brand new words here."));
  });
});

describe("RateBudget", () => {
  function fakeClock() {
    let now = 0;
    const waits: number[] = [];
    return {
      now: () => now,
      wait: async (ms: number) => {
        waits.push(ms);
        now += ms;
      },
      waits,
    };
  }

  it("delays calls past the tokens-per-minute budget instead of sending them", async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ tokensPerMinute: 1000, requestsPerMinute: 100, ...clock });
    await budget.acquire(600);
    await budget.acquire(400);
    assert.deepEqual(clock.waits, []);
    await budget.acquire(100);
    assert.deepEqual(clock.waits, [60_000], "waits until the first 600 leave the window");
    // a single call larger than the budget still runs, alone
    await budget.acquire(5000);
    assert.equal(clock.now(), 120_000);
  });

  it("delays calls past the requests-per-minute budget, and pauses on retry-after", async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ tokensPerMinute: 1e9, requestsPerMinute: 2, ...clock });
    await Promise.all([budget.acquire(1), budget.acquire(1), budget.acquire(1)]);
    assert.deepEqual(clock.waits, [60_000]);
    budget.pause(5000);
    assert.equal(budget.delayFor(1), 5000);
  });
});

describe("pricing", () => {
  it("prices embeddings per 1M tokens with the batch discount, and unknown models as null", () => {
    assert.equal(embeddingCostUsd("text-embedding-3-small", 1_000_000), 0.02);
    assert.equal(embeddingCostUsd("text-embedding-3-large", 2_000_000, { batch: true }), 0.13);
    assert.equal(embeddingCostUsd("nomic-embed-text", 1000), null);
    assert.equal(
      responseCostUsd("gpt-5-mini", { inputTokens: 1_000_000, outputTokens: 1_000_000 }),
      2.25,
    );
    assert.equal(responseCostUsd("unknown", { inputTokens: 1, outputTokens: 1 }), null);
  });
});
