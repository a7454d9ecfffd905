import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { NOT_IN_SOURCES } from "../src/answer/extractive-answerer.ts";
import { assertCitationContract, streamAnswer } from "./support/answer-checks.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const CRANFIELD = new URL("../../shared/datasets/cranfield/docs.jsonl", import.meta.url);
const haveCranfield = existsSync(CRANFIELD);
// Enough abstracts for retrieval to have real competition, few enough to ingest quickly.
const DOCUMENTS = 700;

describe("extractive answers over Cranfield abstracts (no OpenAI key)", {
  skip: haveCranfield ? false : "shared/datasets/cranfield is absent",
}, () => {
  let server: TestServer;
  const texts = new Map<string, string>();
  before(async () => {
    server = await startTestServer();
    const lines = readFileSync(CRANFIELD, "utf8").trim().split("\n").slice(0, DOCUMENTS);
    const documents = lines.map((line) => {
      const doc = JSON.parse(line) as { id: string; title: string; text: string };
      texts.set(`cran-${doc.id}`, doc.text);
      return { id: `cran-${doc.id}`, title: doc.title, text: doc.text };
    });
    assert.equal((await call(server, "POST", "/v1/collections", { name: "cran" })).status, 201);
    for (let start = 0; start < documents.length; start += 100) {
      const uploaded = await call(server, "POST", "/v1/collections/cran/documents", {
        documents: documents.slice(start, start + 100),
      });
      assert.ok(uploaded.status === 201 || uploaded.status === 200, JSON.stringify(uploaded.body));
    }
  });
  after(async () => {
    await server?.close();
  });

  const cases = [
    {
      question: "How are vibratory forces from the power plant transmitted to the aircraft?",
      document: "cran-100",
      passage: "these forces are transmitted to the aircraft in two ways",
    },
    {
      question:
        "What did the integrated remaining lift increment of a wing in a slipstream agree with?",
      document: "cran-1",
      passage: "was found to agree well with a potential flow theory",
    },
    {
      question: "How is a base-type flow defined for a separated flow field?",
      document: "cran-487",
      passage: "is defined as a / base-type/ flow",
    },
  ];
  for (const { question, document, passage } of cases) {
    test(`quotes the passage that answers: ${question}`, async () => {
      const response = await call(server, "POST", "/v1/collections/cran/answer", { question });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const answer = response.body;
      assert.equal(answer.mode, "extractive");
      assert.equal(answer.model, null);
      assert.equal(answer.sources.length, 8, "k defaults to 8");
      assert.ok(answer.citations.length >= 1 && answer.citations.length <= 3);
      assertCitationContract(answer, texts);
      const cited = answer.citations.find(
        (citation: any) => citation.document_id === document && citation.quote.includes(passage),
      );
      assert.ok(cited, `a citation of ${document} quotes "${passage}": ${answer.answer}`);
      assert.equal(answer.citations[0].document_id, document, "the best quote is from it");
      assert.ok(answer.answer.includes(cited.quote.replace(/\s+/g, " ")), "the answer quotes it");
      assert.equal(answer.usage.cost_usd, 0);
      assert.equal(answer.usage.input_tokens, 0);
      assert.equal(answer.insufficient_context, false);
    });
  }

  test("says the sources do not contain the answer, citing nothing, for an absent topic", async () => {
    const response = await call(server, "POST", "/v1/collections/cran/answer", {
      question: "What is a good recipe for chocolate cake with raspberry frosting?",
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.answer, NOT_IN_SOURCES);
    assert.deepEqual(response.body.citations, []);
    assert.equal(response.body.insufficient_context, true);
  });

  test("k and filter narrow the sources; unknown collections and bad bodies are errors", async () => {
    const narrowed = await call(server, "POST", "/v1/collections/cran/answer", {
      question: "boundary layer transition",
      k: 3,
    });
    assert.equal(narrowed.body.sources.length, 3);
    const filtered = await call(server, "POST", "/v1/collections/cran/answer", {
      question: "boundary layer transition",
      filter: { team: "nobody" },
    });
    assert.equal(filtered.status, 200);
    assert.deepEqual(filtered.body.sources, []);
    assert.equal(filtered.body.answer, NOT_IN_SOURCES);
    const spec = await call(server, "GET", "/openapi.json");
    const described = spec.body.paths["/v1/collections/{name}/answer"]?.post;
    assert.ok(described?.responses?.["200"]?.content?.["text/event-stream"]);
    const missing = await call(server, "POST", "/v1/collections/nope/answer", { question: "x" });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.type, "not_found");
    const empty = await call(server, "POST", "/v1/collections/cran/answer", { question: "  " });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.param, "question");
    const effort = await call(server, "POST", "/v1/collections/cran/answer", {
      question: "x",
      reasoning_effort: "extreme",
    });
    assert.equal(effort.status, 400);
    assert.equal(effort.body.error.param, "reasoning_effort");
  });

  test("streams sources, deltas and done, the deltas adding up to the answer", async () => {
    const { status, contentType, events } = await streamAnswer(server, "cran", {
      question: cases[0]?.question,
    });
    assert.equal(status, 200);
    assert.match(contentType, /text\/event-stream/);
    assert.equal(events[0]?.event, "sources");
    assert.equal(events[0]?.data.length, 8);
    const done = events.at(-1);
    assert.equal(done?.event, "done");
    const deltas = events.filter((event) => event.event === "delta");
    assert.ok(deltas.length >= 1);
    assert.equal(deltas.map((event) => event.data.text).join(""), done?.data.answer);
    assert.deepEqual(
      done?.data.sources.map((hit: any) => hit.chunk_id),
      events[0]?.data.map((hit: any) => hit.chunk_id),
    );
    assertCitationContract(done?.data, texts);
  });
});
