import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  containsFact,
  DATASETS_DIR,
  loadCollectionDocuments,
  loadQaPairs,
} from "../eval/answers/qa-set.ts";
import { Bm25Baseline } from "../eval/bm25-baseline.ts";
import { extractiveAnswer, NOT_IN_SOURCES } from "../src/answer/extractive-answerer.ts";
import { splitSentences } from "../src/answer/passages.ts";
import { assertCitationContract } from "./support/answer-checks.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

/*
 * Issue 12, part 4: the extractive answer must quote the passage that answers, not the sentence
 * that repeats the question's subject most often.
 */

const JWST =
  "The James Webb Space Telescope launched on 25 December 2021 on an Ariane 5 rocket. " +
  "It reached the second Lagrange point about a month later. " +
  "Its primary mirror is 6.5 metres across and is made of 18 gold-coated beryllium segments. " +
  "The telescope observes mainly in the infrared.";
const HUBBLE =
  "The Hubble Space Telescope was carried into orbit by the Space Shuttle Discovery in April 1990. " +
  "Its primary mirror is 2.4 metres across. Astronauts serviced it five times.";
const BRIDGE =
  "The Golden Gate Bridge opened in 1937. It was designed by Joseph Strauss with Leon Moisseiff.";

describe("extractive answers quote the passage that answers (HTTP, no OpenAI key)", () => {
  let server: TestServer;
  const texts = new Map([
    ["jwst", JWST],
    ["hubble", HUBBLE],
    ["bridge", BRIDGE],
  ]);
  before(async () => {
    server = await startTestServer();
    assert.equal((await call(server, "POST", "/v1/collections", { name: "space" })).status, 201);
    const uploaded = await call(server, "POST", "/v1/collections/space/documents", {
      documents: [...texts].map(([id, text]) => ({ id, text })),
    });
    assert.ok(uploaded.status === 200 || uploaded.status === 201, JSON.stringify(uploaded.body));
  });
  after(async () => {
    await server?.close();
  });

  test("the JWST mirror question is answered by the mirror sentence of the JWST chunk", async () => {
    const response = await call(server, "POST", "/v1/collections/space/answer", {
      question: "How wide is the primary mirror of the James Webb Space Telescope?",
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const answer = response.body;
    assert.equal(answer.mode, "extractive");
    assert.ok(answer.answer.includes("6.5 metres"), answer.answer);
    assert.ok(
      !answer.answer.includes("2.4 metres"),
      `Hubble's mirror is not JWST's: ${answer.answer}`,
    );
    const first = answer.citations[0];
    assert.equal(first?.n, 1);
    assert.equal(first?.document_id, "jwst");
    assert.ok(first.quote.includes("6.5 metres across"), first.quote);
    const jwstSource = answer.sources.find((hit: any) => hit.document_id === "jwst");
    assert.equal(first.chunk_id, jwstSource.chunk_id, "the citation names the JWST chunk");
    assert.equal(JWST.slice(first.char_start, first.char_end), first.quote);
    assert.ok(answer.answer.includes("[1]"));
    assertCitationContract(answer, texts);
    assert.equal(answer.insufficient_context, false);
  });

  test("a question the sources cannot answer cites nothing", async () => {
    const response = await call(server, "POST", "/v1/collections/space/answer", {
      question: "What is a good recipe for chocolate cake with raspberry frosting?",
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.answer, NOT_IN_SOURCES);
    assert.deepEqual(response.body.citations, []);
    assert.equal(response.body.insufficient_context, true);
  });
});

describe("passage scoring (pure)", () => {
  test("'It' and 'Its' stand for the chunk's subject", () => {
    const draft = extractiveAnswer("Who designed the Golden Gate Bridge?", [HUBBLE, BRIDGE]);
    assert.equal(
      draft.citations[0]?.quote,
      "It was designed by Joseph Strauss with Leon Moisseiff.",
    );
    assert.equal(draft.citations[0]?.source, 2);
    assert.equal(draft.citations.length, 1, draft.answer);
  });

  test("a sentence that repeats the subject loses to one that states the asked attribute", () => {
    const lake = {
      title: "Lake Baikal",
      text:
        "Lake Baikal is a rift lake in southern Siberia, Russia. " +
        "Lake Baikal in Siberia is the oldest and clearest lake on Earth. " +
        "The greatest depth measured is 1,642 metres.",
    };
    const other = {
      title: "Lake Tanganyika",
      text: "Lake Tanganyika is an African Great Lake. It is the second-oldest freshwater lake.",
    };
    const draft = extractiveAnswer("What is the greatest depth of Lake Baikal in Siberia?", [
      lake,
      other,
    ]);
    assert.equal(draft.citations[0]?.quote, "The greatest depth measured is 1,642 metres.");
    assert.match(draft.answer, /^The greatest depth measured is 1,642 metres\. \[1\]/);
  });

  test("a neighbour that states the rest of the question joins the quote", () => {
    const text =
      "The Mersey reactor was commissioned in 1962. Its cooling circuit draws river water. " +
      "The intake is screened by a fine steel mesh. The turbine hall is 80 metres long.";
    const draft = extractiveAnswer(
      "What kind of mesh screens the river water intake of the Mersey reactor's cooling circuit?",
      [text],
    );
    assert.equal(
      draft.citations[0]?.quote,
      "Its cooling circuit draws river water. The intake is screened by a fine steel mesh.",
    );
  });

  test("no answer, and no citation, for an absent topic", () => {
    const draft = extractiveAnswer("What is a good recipe for chocolate cake?", [JWST, HUBBLE]);
    assert.equal(draft.answer, NOT_IN_SOURCES);
    assert.deepEqual(draft.citations, []);
    assert.equal(draft.insufficientContext, true);
  });

  test("an initial or an abbreviation does not end a sentence", () => {
    const text = "It was o. reynolds who first did it. Others followed, e.g. Prandtl. Done.";
    const pieces = splitSentences(text).map((range) => text.slice(range.start, range.end));
    assert.deepEqual(pieces, [
      "It was o. reynolds who first did it.",
      "Others followed, e.g. Prandtl.",
      "Done.",
    ]);
  });
});

// Measured 2026-12-08 on the 78 answerable pairs: 74 (94.9%) contain the fact, 5 of 6
// unanswerable questions are declined (before the passage scoring: 65 and 5).
const FLOOR = { answered: 0.9, declined: 4 };
const haveDatasets = ["cranfield", "cisi", "npl"].every((name) =>
  existsSync(fileURLToPath(new URL(`${name}/docs.jsonl`, DATASETS_DIR))),
);

describe("the extractive-answer set over the shared collections", () => {
  test("answers contain the expected fact above the floor; absent topics are declined", {
    skip: haveDatasets ? false : "shared/datasets/{cranfield,cisi,npl} are absent",
  }, () => {
    const pairs = loadQaPairs();
    let answered = 0;
    let declined = 0;
    const misses: string[] = [];
    for (const collection of ["cranfield", "cisi", "npl"]) {
      const documents = loadCollectionDocuments(DATASETS_DIR, collection);
      // The answerer alone: the eight documents plain BM25 retrieves from the whole collection.
      const baseline = new Bm25Baseline([...documents.values()]);
      try {
        for (const pair of pairs.filter((candidate) => candidate.collection === collection)) {
          const sources = baseline
            .search(pair.question, 8)
            .map((id) => documents.get(id))
            .filter((document) => document !== undefined);
          const draft = extractiveAnswer(pair.question, sources);
          if (pair.fact === null) {
            if (draft.insufficientContext) declined++;
          } else if (containsFact(draft.answer, pair.fact)) {
            answered++;
          } else {
            misses.push(pair.id);
          }
        }
      } finally {
        baseline.close();
      }
    }
    const answerable = pairs.filter((pair) => pair.fact !== null).length;
    const rate = answered / answerable;
    console.log(
      `extractive QA set: ${answered}/${answerable} contain the fact (${(100 * rate).toFixed(1)}%), ` +
        `${declined}/${pairs.length - answerable} absent topics declined; missed: ${misses.join(", ")}`,
    );
    assert.ok(
      rate >= FLOOR.answered,
      `answer-contains-fact ${rate.toFixed(3)} < ${FLOOR.answered}`,
    );
    assert.ok(declined >= FLOOR.declined, `declined ${declined} < ${FLOOR.declined}`);
  });
});
