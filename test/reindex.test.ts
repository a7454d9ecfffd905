import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { countTokens } from "../src/ingest/tokenizer.ts";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

let openai: OpenAIServer;
let gleaner: TestServer | null = null;

before(async () => {
  openai = await startOpenAIServer();
});
after(async () => {
  await openai.close();
});
beforeEach(() => openai.reset());
afterEach(async () => {
  await gleaner?.close();
  gleaner = null;
  assert.deepEqual(openai.conformanceProblems, []);
});

async function startGleaner(): Promise<TestServer> {
  gleaner = await startTestServer({
    OPENAI_API_KEY: "test",
    OPENAI_BASE_URL: openai.baseURL,
    GLEANER_OPENAI_MAX_RETRIES: "1",
    GLEANER_OPENAI_TIMEOUT_MS: "10000",
  });
  return gleaner;
}

const TOPICS = [
  "boundary layer transition on a flat plate",
  "shock wave interaction with a turbulent boundary layer",
  "heat transfer in hypersonic stagnation regions",
  "flutter of swept wings at transonic speed",
  "buckling of thin cylindrical shells under axial load",
  "slender body theory for supersonic missiles",
];

function documentText(index: number): string {
  const topic = TOPICS[index % TOPICS.length] as string;
  return `Report ${index}. This study examines ${topic}. Measurements number ${index * 7} were compared with theory for case ${index}.`;
}

function embeddingTokensSince(seq: number): number {
  let tokens = 0;
  for (const request of openai.requestsTo("/v1/embeddings", "POST")) {
    if (request.seq <= seq) continue;
    const input = (request.body as { input: string | string[] }).input;
    for (const text of Array.isArray(input) ? input : [input]) tokens += countTokens(text);
  }
  return tokens;
}

function lastSeq(): number {
  return openai.requests.at(-1)?.seq ?? 0;
}

describe("re-index", () => {
  it("dry-run numbers match the tokens a real run then spends; the swap changes dimensions", async () => {
    const server = await startGleaner();
    await call(server, "POST", "/v1/collections", {
      name: "papers",
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 256 },
    });
    const documents = Array.from({ length: 8 }, (_, i) => ({ id: `d${i}`, text: documentText(i) }));
    documents.push({ id: "copy", text: documentText(0) });
    const uploaded = await call(server, "POST", "/v1/collections/papers/documents", { documents });
    assert.equal(uploaded.status, 201);

    const target = { provider: "openai", model: "text-embedding-3-large", dimensions: 1024 };
    const dry = await call(server, "POST", "/v1/collections/papers/reindex", {
      embedding: target,
      dry_run: true,
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    const distinct = new Set(documents.map((d) => d.text));
    const expectedTokens = [...distinct].reduce((sum, text) => sum + countTokens(text), 0);
    assert.equal(dry.body.dry_run, true);
    assert.equal(dry.body.chunks, 9);
    assert.equal(dry.body.distinct_texts, 8);
    assert.equal(dry.body.cached_texts, 0);
    assert.equal(dry.body.tokens, expectedTokens);
    assert.equal(dry.body.cost_usd, (expectedTokens * 0.13) / 1_000_000);
    assert.equal(dry.body.batch_cost_usd, (expectedTokens * 0.065) / 1_000_000);
    const unchanged = await call(server, "GET", "/v1/collections/papers");
    assert.equal(unchanged.body.embedding.dimensions, 256, "a dry run changes nothing");

    const before = lastSeq();
    const real = await call(server, "POST", "/v1/collections/papers/reindex", {
      embedding: target,
    });
    assert.equal(real.status, 200, JSON.stringify(real.body));
    assert.equal(real.body.dry_run, false);
    assert.equal(real.body.tokens, dry.body.tokens, "the dry run priced exactly what was spent");
    assert.equal(embeddingTokensSince(before), dry.body.tokens);
    for (const request of openai
      .requestsTo("/v1/embeddings", "POST")
      .filter((r) => r.seq > before)) {
      assert.equal(request.validation?.ok, true);
      assert.equal((request.body as { dimensions: number }).dimensions, 1024);
    }
    assert.deepEqual(real.body.collection.embedding, target);
    assert.equal(real.body.collection.embedding_tokens, expectedTokens);

    const found = await call(server, "POST", "/v1/collections/papers/search", {
      query: "flutter of swept wings",
      mode: "vector",
    });
    assert.equal(found.status, 200);
    assert.equal(found.body.data[0]?.document_id, "d3");
    const { store } = server.runtime.services;
    assert.equal(
      (
        await store.vectorSearch({
          collection: "papers",
          vector: new Float32Array(1024).fill(1),
          k: 1,
        })
      ).length,
      1,
    );

    // a query embedded under the old configuration just before the swap is still answered
    const straddling = await store.vectorSearch({
      collection: "papers",
      vector: new Float32Array(256).fill(1),
      k: 3,
    });
    assert.equal((await store.getChunks(straddling.map((hit) => hit.chunkId))).length, 3);

    // going back costs nothing: every text is still cached under the old configuration
    const back = await call(server, "POST", "/v1/collections/papers/reindex", {
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 256 },
      dry_run: true,
    });
    assert.equal(back.body.tokens, 0);
    assert.equal(back.body.cached_texts, 8);
    assert.equal(back.body.cost_usd, 0);

    // the index survives a restart with its new dimensions
    await server.restart();
    const again = await call(server, "POST", "/v1/collections/papers/search", {
      query: "flutter of swept wings",
      mode: "vector",
    });
    assert.equal(again.body.data[0]?.document_id, "d3");
  });

  it("searches and uploads keep working while a re-index runs", async () => {
    const server = await startGleaner();
    await call(server, "POST", "/v1/collections", {
      name: "live",
      embedding: { provider: "local" },
    });
    const documents = Array.from({ length: 60 }, (_, i) => ({
      id: `d${i}`,
      text: documentText(i),
    }));
    assert.equal(
      (await call(server, "POST", "/v1/collections/live/documents", { documents })).status,
      201,
    );

    // slow provider replies keep the re-index running for a while
    openai.injectFaults([{ path: "/v1/embeddings", delayMs: 400, times: 1 }]);
    const reindex = call(server, "POST", "/v1/collections/live/reindex", {
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 128 },
    });
    const upload = call(server, "POST", "/v1/collections/live/documents", {
      id: "late",
      text: "Late arrival about aeroelastic divergence.",
    });
    let done = false;
    const finished = reindex.finally(() => {
      done = true;
    });
    const statuses: number[] = [];
    let hits = 0;
    const modes = ["hybrid", "vector", "keyword"] as const;
    while (!done) {
      const mode = modes[statuses.length % modes.length];
      const response = await call(server, "POST", "/v1/collections/live/search", {
        query: "boundary layer transition",
        mode,
      });
      statuses.push(response.status);
      if (response.body.data?.length > 0) hits++;
    }
    const result = await finished;
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.ok(statuses.length >= 3, `${statuses.length} searches ran during the re-index`);
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(hits, statuses.length, "every search found something");
    assert.equal((await upload).status, 201);

    const collection = await call(server, "GET", "/v1/collections/live");
    assert.equal(collection.body.embedding.dimensions, 128);
    assert.equal(collection.body.document_count, 61);
    const late = await call(server, "POST", "/v1/collections/live/search", {
      query: "aeroelastic divergence",
      mode: "vector",
    });
    assert.equal(
      late.body.data[0]?.document_id,
      "late",
      "the upload made during the re-index has new vectors",
    );
    openai.injectFaults([{ path: "/v1/embeddings", delayMs: 300, times: 1 }]);
    const target = {
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 64 },
    };
    const conflict = await Promise.all([
      call(server, "POST", "/v1/collections/live/reindex", target),
      call(server, "POST", "/v1/collections/live/reindex", target),
    ]);
    assert.deepEqual(conflict.map((r) => r.status).sort(), [200, 409]);
  });

  it("rejects invalid targets and leaves the collection as it was when the provider fails", async () => {
    const server = await startGleaner();
    await call(server, "POST", "/v1/collections/default/documents", {
      id: "x",
      text: "Some text to keep.",
    });
    const tooBig = await call(server, "POST", "/v1/collections/default/reindex", {
      embedding: { provider: "openai", model: "text-embedding-3-small", dimensions: 2000 },
    });
    assert.equal(tooBig.status, 400);
    assert.equal(tooBig.body.error.param, "embedding.dimensions");
    const missing = await call(server, "POST", "/v1/collections/nope/reindex", {
      embedding: { provider: "local" },
    });
    assert.equal(missing.status, 404);

    openai.setDeadUpstream({ path: "/v1/embeddings", status: 503, retryAfterMs: 5 });
    const failed = await call(server, "POST", "/v1/collections/default/reindex", {
      embedding: { provider: "openai", model: "text-embedding-3-large", dimensions: 256 },
    });
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.type, "upstream_error");
    openai.setDeadUpstream(false);
    const collection = await call(server, "GET", "/v1/collections/default");
    assert.equal(collection.body.embedding.model, "text-embedding-3-small");
    const found = await call(server, "POST", "/v1/collections/default/search", {
      query: "text to keep",
    });
    assert.equal(found.body.data[0]?.document_id, "x");
  });
});
