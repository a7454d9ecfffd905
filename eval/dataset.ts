import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/*
 * Test collections in the shared format (see datasets/cranfield/README.md): docs.jsonl
 * ({id, title, text}), queries.jsonl ({id, text}) and qrels.tsv (query-id, doc-id, grade >= 1,
 * with a header line). Only queries with at least one judgment are evaluated.
 */

export interface EvalDocument {
  id: string;
  title: string;
  text: string;
}

export interface EvalQuery {
  id: string;
  text: string;
}

/** Graded judgments: query id → (doc id → grade, higher is more relevant). */
export type Qrels = Map<string, Map<string, number>>;

export interface Dataset {
  name: string;
  documents: EvalDocument[];
  queries: EvalQuery[];
  qrels: Qrels;
}

function readJsonLines(path: string): unknown[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (error) {
        throw new Error(`${path}:${index + 1}: not JSON`, { cause: error });
      }
    });
}

function field(record: unknown, name: string, path: string): string {
  const value = (record as Record<string, unknown> | null)?.[name];
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value === undefined && name === "title") return "";
  throw new Error(`${path}: a record lacks the string field "${name}"`);
}

/** Parses qrels.tsv text: a header line, then query-id, doc-id, grade per row. */
export function parseQrels(text: string): Qrels {
  const qrels: Qrels = new Map();
  const lines = text.split("\n").filter((line) => line.trim().length > 0);
  for (const [index, line] of lines.entries()) {
    const [queryId, docId, grade] = line.split("\t").map((cell) => cell.trim());
    if (index === 0 && Number.isNaN(Number(grade))) continue;
    const score = Number(grade);
    if (!queryId || !docId || !Number.isFinite(score)) {
      throw new Error(`qrels line ${index + 1} is malformed: ${JSON.stringify(line)}`);
    }
    if (score <= 0) continue;
    const judged = qrels.get(queryId) ?? new Map<string, number>();
    judged.set(docId, score);
    qrels.set(queryId, judged);
  }
  return qrels;
}

/** Loads a collection directory; the name is the directory's. */
export function loadDataset(directory: string): Dataset {
  const dir = resolve(directory);
  const docsPath = join(dir, "docs.jsonl");
  const queriesPath = join(dir, "queries.jsonl");
  const documents = readJsonLines(docsPath).map((record) => ({
    id: field(record, "id", docsPath),
    title: field(record, "title", docsPath),
    text: field(record, "text", docsPath),
  }));
  const qrels = parseQrels(readFileSync(join(dir, "qrels.tsv"), "utf8"));
  const queries = readJsonLines(queriesPath)
    .map((record) => ({
      id: field(record, "id", queriesPath),
      text: field(record, "text", queriesPath),
    }))
    .filter((query) => qrels.has(query.id));
  return { name: basename(dir), documents, queries, qrels };
}

/** A smaller dataset: the first `queryCount` queries, their judged documents and every
 * `keepEvery`-th other document as distractors (deterministic). */
export function subsetDataset(dataset: Dataset, queryCount: number, keepEvery: number): Dataset {
  const queries = dataset.queries.slice(0, queryCount);
  const judged = new Set<string>();
  for (const query of queries)
    for (const id of dataset.qrels.get(query.id)?.keys() ?? []) judged.add(id);
  const documents = dataset.documents.filter(
    (document, index) => judged.has(document.id) || index % keepEvery === 0,
  );
  const qrels: Qrels = new Map(
    queries.map((query) => [query.id, dataset.qrels.get(query.id) ?? new Map()]),
  );
  return { name: `${dataset.name}-subset`, documents, queries, qrels };
}
