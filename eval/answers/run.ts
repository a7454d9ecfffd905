import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { InProcessTarget } from "../targets.ts";
import {
  answerCorpus,
  containsFact,
  DATASETS_DIR,
  loadCollectionDocuments,
  loadQaPairs,
  type QaPair,
} from "./qa-set.ts";

/*
 * npm run eval:answers -- [--distractors 20] [--k 8] [--verbose]
 * Per collection: ingests the answer documents plus each question's top BM25 documents into a
 * temporary in-process store, asks every question through the real AnswerService (extractive
 * mode: no OpenAI key) and reports, separately, whether retrieval returned the answer document
 * and whether the answer text contains the expected fact.
 */

const { values } = parseArgs({
  options: {
    distractors: { type: "string", default: "20" },
    k: { type: "string", default: "8" },
    verbose: { type: "boolean", default: false },
    datasets: { type: "string" },
  },
});
const distractors = Number(values.distractors);
const k = Number(values.k);
const datasetsDir = values.datasets ?? DATASETS_DIR.pathname;
if (!existsSync(datasetsDir)) {
  console.error(`no shared datasets at ${datasetsDir}`);
  process.exit(2);
}

interface Outcome {
  pair: QaPair;
  retrieved: boolean;
  answered: boolean;
  citedFromDocument: boolean;
  declined: boolean;
  answer: string;
  citations: number;
}

const outcomes: Outcome[] = [];
const pairs = loadQaPairs();
const collections = [...new Set(pairs.map((pair) => pair.collection))];
for (const collection of collections) {
  const own = pairs.filter((pair) => pair.collection === collection);
  const corpus = answerCorpus(loadCollectionDocuments(datasetsDir, collection), own, distractors);
  // The answerer is what is measured: no OpenAI key, whatever the environment says.
  const target = new InProcessTarget({ OPENAI_API_KEY: "" });
  try {
    const { chunks } = await target.ingest(corpus);
    console.error(
      `${collection}: ${own.length} questions, ${corpus.length} documents, ${chunks} chunks`,
    );
    for (const pair of own) {
      const result = await target.runtime.services.answers.answer({
        collection: target.collection,
        question: pair.question,
        k,
      });
      if (result.mode !== "extractive") throw new Error("the answer service is not extractive");
      const fact = pair.fact;
      outcomes.push({
        pair,
        retrieved: pair.doc !== null && result.sources.some((hit) => hit.documentId === pair.doc),
        answered: fact !== null && containsFact(result.answer, fact),
        citedFromDocument:
          fact !== null &&
          result.citations.some(
            (citation) => citation.documentId === pair.doc && containsFact(citation.quote, fact),
          ),
        declined: result.insufficientContext,
        answer: result.answer,
        citations: result.citations.length,
      });
    }
  } finally {
    await target.close();
  }
}

const percent = (part: number, whole: number): string =>
  whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)}% (${part}/${whole})`;
const rows = [
  "| collection | questions | retrieval hit@k | answer contains fact | fact quoted from the answer document | answer contains fact when retrieved |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
];
for (const collection of [...collections, "all"]) {
  const answerable = outcomes.filter(
    (outcome) =>
      outcome.pair.fact !== null &&
      (collection === "all" || outcome.pair.collection === collection),
  );
  const retrieved = answerable.filter((outcome) => outcome.retrieved);
  rows.push(
    `| ${collection} | ${answerable.length} | ${percent(retrieved.length, answerable.length)} | ${percent(answerable.filter((outcome) => outcome.answered).length, answerable.length)} | ${percent(answerable.filter((outcome) => outcome.citedFromDocument).length, answerable.length)} | ${percent(retrieved.filter((outcome) => outcome.answered).length, retrieved.length)} |`,
  );
}
const absent = outcomes.filter((outcome) => outcome.pair.fact === null);
console.log(rows.join("\n"));
console.log(
  `\nquestions the collections cannot answer: declined ${percent(absent.filter((outcome) => outcome.declined).length, absent.length)}`,
);
// Longer answers contain more facts by chance: how long they are is part of the result.
const given = outcomes.filter((outcome) => outcome.pair.fact !== null && !outcome.declined);
const mean = (values: number[]): string =>
  (values.reduce((sum, value) => sum + value, 0) / (values.length || 1)).toFixed(1);
console.log(
  `answers given to answerable questions: ${given.length}, mean ${mean(given.map((outcome) => outcome.answer.length))} characters, ${mean(given.map((outcome) => outcome.citations))} citations`,
);
console.log(`k = ${k}, distractors = top ${distractors} BM25 documents per question`);
if (values.verbose) {
  for (const outcome of outcomes) {
    const ok = outcome.pair.fact === null ? outcome.declined : outcome.answered;
    if (ok) continue;
    console.log(
      `\n✗ ${outcome.pair.id} [${outcome.retrieved ? "retrieved" : "not retrieved"}] ${outcome.pair.question}\n  fact: ${outcome.pair.fact}\n  answer: ${outcome.answer.slice(0, 400)}`,
    );
  }
}
