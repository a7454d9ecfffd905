import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { promisify } from "node:util";
import { textSha256 } from "../src/embed/embed-many.ts";
import { countTokens } from "../src/ingest/tokenizer.ts";
import { type OpenAIServer, startOpenAIServer } from "./support/openai-server/index.ts";
import { makeTempDir } from "./support/temp-dir.ts";
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

const BATCH_ENV = {
  OPENAI_API_KEY: "test",
  GLEANER_OPENAI_MAX_RETRIES: "1",
  GLEANER_OPENAI_TIMEOUT_MS: "10000",
  GLEANER_BATCH_POLL_MS: "20",
  GLEANER_BATCH_POLL_MAX_MS: "100",
  GLEANER_BATCH_WINDOW_MS: "250",
};

async function startGleaner(): Promise<TestServer> {
  gleaner = await startTestServer({ ...BATCH_ENV, OPENAI_BASE_URL: openai.baseURL });
  return gleaner;
}

const TEXTS = {
  a: "Laminar flow separates near the trailing edge of the aerofoil.",
  b: "Shock waves form over the upper surface at transonic speeds.",
  c: "Laminar flow separates near the trailing edge of the aerofoil.",
};

async function waitForStatus(server: TestServer, id: string, status: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const document = await call(server, "GET", `/v1/collections/default/documents/${id}`);
    if (document.body.status === status) return document.body;
    if (Date.now() > deadline) throw new Error(`${id} is ${document.body.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function batchPolls() {
  return openai.requests.filter((r) => r.method === "GET" && r.path.startsWith("/v1/batches/"));
}

async function uploadBatch(server: TestServer) {
  const uploaded = await call(
    server,
    "POST",
    "/v1/collections/default/documents?embedding_mode=batch",
    {
      documents: Object.entries(TEXTS).map(([id, text]) => ({ id, text })),
    },
  );
  assert.equal(uploaded.status, 202, JSON.stringify(uploaded.body));
  return uploaded.body.data;
}

describe("Batch API ingestion", () => {
  it("uploads JSONL, creates one batch, keeps documents processing, maps results by custom_id", async (t) => {
    openai.setBatchBehaviour({ pollsPerStage: 3 });
    const server = await startGleaner();
    const started = performance.now();
    await uploadBatch(server);
    const created = await openai.waitForRequest(
      (r) => r.path === "/v1/batches" && r.method === "POST",
      10_000,
    );
    assert.equal(created.validation?.ok, true, JSON.stringify(created.validation));
    assert.equal((created.body as { endpoint: string }).endpoint, "/v1/embeddings");
    assert.equal((await waitForStatus(server, "a", "processing")).status, "processing");
    const keyword = await call(server, "POST", "/v1/collections/default/search", {
      query: "transonic",
      mode: "keyword",
    });
    assert.deepEqual(keyword.body.data, [], "nothing searchable before the vectors land");

    const [a, b, c] = [
      await waitForStatus(server, "a", "ready"),
      await waitForStatus(server, "b", "ready"),
      await waitForStatus(server, "c", "ready"),
    ];
    const seconds = (performance.now() - started) / 1000;
    const upload = openai.requestsTo("/v1/files", "POST");
    assert.equal(upload.length, 1);
    assert.equal(upload[0]?.multipart?.fields.purpose, "batch");
    const jsonl = upload[0]?.multipart?.files[0]?.content.toString("utf8") ?? "";
    const lines = jsonl
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(lines.length, 2, "identical texts share one line");
    assert.deepEqual(
      lines.map((line) => line.custom_id).sort(),
      [textSha256(TEXTS.a), textSha256(TEXTS.b)].sort(),
    );
    for (const line of lines) {
      assert.equal(line.url, "/v1/embeddings");
      assert.equal(line.body.dimensions, 512);
    }
    assert.equal(openai.requestsTo("/v1/batches", "POST").length, 1);
    assert.equal(openai.requestsTo("/v1/embeddings").length, 0, "no synchronous embedding calls");
    assert.equal(a.embedding_tokens + c.embedding_tokens, countTokens(TEXTS.a));
    assert.equal(b.embedding_tokens, countTokens(TEXTS.b));
    const collection = await call(server, "GET", "/v1/collections/default");
    assert.equal(collection.body.embedding_tokens, countTokens(TEXTS.a) + countTokens(TEXTS.b));
    const found = await call(server, "POST", "/v1/collections/default/search", {
      query: "transonic shock waves",
      mode: "vector",
    });
    assert.equal(found.body.data[0]?.document_id, "b");
    t.diagnostic(`batch flow: ${seconds.toFixed(2)} s, ${batchPolls().length} polls`);
  });

  it("resumes polling the same batch after a restart in the middle of polling", async () => {
    openai.setBatchBehaviour({ stageMs: 400 });
    const server = await startGleaner();
    await uploadBatch(server);
    const created = await openai.waitForRequest(
      (r) => r.path === "/v1/batches" && r.method === "POST",
      10_000,
    );
    await openai.waitForRequest(
      (r) => r.method === "GET" && r.path.startsWith("/v1/batches/") && r.seq > created.seq,
      10_000,
    );
    await server.restart();
    const restartedAt = Date.now();
    const afterRestart = await call(server, "GET", "/v1/collections/default/documents/b");
    assert.equal(afterRestart.body.status, "processing");
    await waitForStatus(server, "a", "ready");
    await waitForStatus(server, "b", "ready");
    await waitForStatus(server, "c", "ready");
    assert.equal(openai.requestsTo("/v1/batches", "POST").length, 1, "no second batch");
    const polls = batchPolls();
    assert.ok(
      polls.some((r) => r.at >= restartedAt),
      "the new process polled",
    );
    assert.equal(new Set(polls.map((r) => r.path)).size, 1, "always the same batch");
    assert.equal(openai.requestsTo("/v1/embeddings").length, 0);
  });

  it("retries failed lines through the normal path", async () => {
    openai.setBatchBehaviour({ pollsPerStage: 1, failCustomIds: [textSha256(TEXTS.b)] });
    const server = await startGleaner();
    await uploadBatch(server);
    const b = await waitForStatus(server, "b", "ready");
    await waitForStatus(server, "a", "ready");
    const sync = openai.requestsTo("/v1/embeddings", "POST");
    assert.equal(sync.length, 1);
    assert.deepEqual((sync[0]?.body as { input?: string[] } | undefined)?.input, [TEXTS.b]);
    assert.equal(b.embedding_tokens, countTokens(TEXTS.b));
  });

  it("falls back to the normal path when the batch cannot be created, and rejects local collections", async () => {
    const server = await startGleaner();
    openai.injectFaults([{ path: "/v1/batches", method: "POST", status: 400 }]);
    await uploadBatch(server);
    await waitForStatus(server, "b", "ready");
    await waitForStatus(server, "c", "ready");
    assert.equal(openai.requestsTo("/v1/embeddings", "POST").length, 2, "a (= c) and b, once each");
    await call(server, "POST", "/v1/collections", {
      name: "lexical",
      embedding: { provider: "local" },
    });
    const refused = await call(
      server,
      "POST",
      "/v1/collections/lexical/documents?embedding_mode=batch",
      { text: "x" },
    );
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.param, "embedding_mode");
  });

  it("gleaner ingest --batch embeds files through a batch", async () => {
    openai.setBatchBehaviour({ pollsPerStage: 1 });
    const data = makeTempDir();
    const files = join(data.path, "files");
    mkdirSync(files);
    writeFileSync(join(files, "one.txt"), TEXTS.a);
    writeFileSync(join(files, "two.md"), `# Two\n\n${TEXTS.b}`);
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          new URL("../bin/gleaner.js", import.meta.url).pathname,
          "ingest",
          files,
          "--batch",
          "--no-progress",
        ],
        {
          env: {
            ...process.env,
            ...BATCH_ENV,
            OPENAI_BASE_URL: openai.baseURL,
            GLEANER_DATA_DIR: join(data.path, "db"),
            GLEANER_LOG_LEVEL: "error",
          },
          timeout: 60_000,
        },
      );
      assert.match(stdout, /^2 documents/);
      assert.equal(openai.requestsTo("/v1/batches", "POST").length, 1);
      assert.equal(openai.requestsTo("/v1/embeddings").length, 0);
    } finally {
      data.remove();
    }
  });
});
