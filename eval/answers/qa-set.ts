import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bm25Baseline } from "../bm25-baseline.ts";
import type { EvalDocument } from "../dataset.ts";

/*
 * The extractive-answer set: questions over documents of the shared collections, each with the
 * short fact the answer must contain (or null: the collection cannot answer it). Only ids,
 * questions and facts live in the repo; the documents are read from ../shared/datasets.
 */

export interface QaPair {
  id: string;
  collection: string;
  /** The document that states the fact; null for a question the collection cannot answer. */
  doc: string | null;
  question: string;
  fact: string | null;
}

export const QA_PATH = new URL("./qa.jsonl", import.meta.url);
export const DATASETS_DIR = new URL("../../../shared/datasets/", import.meta.url);

/** The pairs of eval/answers/qa.jsonl, in file order. */
export function loadQaPairs(path: URL | string = QA_PATH): QaPair[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as QaPair);
}

/** Every document of a shared collection (docs.jsonl), by id. */
export function loadCollectionDocuments(
  datasetsDir: URL | string,
  collection: string,
): Map<string, EvalDocument> {
  const path = join(
    typeof datasetsDir === "string" ? datasetsDir : datasetsDir.pathname,
    collection,
    "docs.jsonl",
  );
  const documents = new Map<string, EvalDocument>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim().length === 0) continue;
    const record = JSON.parse(line) as { id: string | number; title?: string; text: string };
    const id = String(record.id);
    documents.set(id, { id, title: record.title ?? "", text: record.text });
  }
  return documents;
}

/**
 * The documents a run ingests for `pairs` of one collection: each answer document plus the
 * `distractors` documents plain BM25 ranks highest for each question, so retrieval has the
 * competition it would have in the whole collection. Deterministic.
 */
export function answerCorpus(
  documents: ReadonlyMap<string, EvalDocument>,
  pairs: readonly QaPair[],
  distractors: number,
): EvalDocument[] {
  const chosen = new Set<string>();
  for (const pair of pairs) if (pair.doc !== null) chosen.add(pair.doc);
  const baseline = new Bm25Baseline([...documents.values()]);
  try {
    for (const pair of pairs) {
      for (const id of baseline.search(pair.question, distractors)) chosen.add(id);
    }
  } finally {
    baseline.close();
  }
  return [...chosen]
    .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
    .map((id) => {
      const document = documents.get(id);
      if (!document) throw new Error(`document ${id} is not in the collection`);
      return document;
    });
}

/** Whether `answer` states `fact`: case-insensitive, whitespace runs as one space. */
export function containsFact(answer: string, fact: string): boolean {
  const squash = (text: string): string => text.replace(/\s+/g, " ").trim().toLowerCase();
  return squash(answer).includes(squash(fact));
}
