/*
 * Random OpenAI filter trees against a reference evaluator written from the documented rules,
 * run inside SQLite's keyword and vector retrieval. Random in CI; GLEANER_FILTER_SEED=<seed>
 * replays a reported run case for case.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import {
  type ComparisonOperator,
  type FilterExpression,
  type FilterScalar,
  parseMetadataFilter,
} from "../src/store/filter-expression.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { axisVector, putDocument } from "./support/store-contract.ts";
import { makeTempDir } from "./support/temp-dir.ts";

const SEED = Number(process.env.GLEANER_FILTER_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KEYS = ["a", "b", "c"] as const;
// ASCII strings only: JavaScript compares UTF-16 units, SQLite UTF-8 bytes (same order here)
const VALUES: FilterScalar[] = [0, 1, 2, 2.5, -3, "1", "2", "apple", "Banana", "", true, false];
const DOCUMENTS = 48;

/** Document i's metadata: each key holds a value of the pool, or is missing. */
function metadataOf(index: number): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  KEYS.forEach((key, position) => {
    const pick = (index * (position + 3) + position * 7) % (VALUES.length + 2);
    if (pick < VALUES.length) metadata[key] = VALUES[pick];
    else if (pick === VALUES.length) metadata[key] = null;
  });
  return metadata;
}

const typeOf = (value: unknown): string => (value === null ? "null" : typeof value);

/** The documented semantics, independently of any SQL. */
function matches(metadata: Record<string, unknown>, filter: FilterExpression): boolean {
  if ("filters" in filter) {
    return filter.type === "and"
      ? filter.filters.every((child) => matches(metadata, child))
      : filter.filters.some((child) => matches(metadata, child));
  }
  const present = Object.hasOwn(metadata, filter.key);
  const stored = metadata[filter.key];
  const equal = (value: FilterScalar) =>
    present && typeOf(stored) === typeOf(value) && stored === value;
  const values = Array.isArray(filter.value) ? filter.value : [filter.value];
  switch (filter.type) {
    case "eq":
    case "in":
      return values.some(equal);
    case "ne":
    case "nin":
      if (values.length === 0) return present;
      return (
        present && values.some((value) => typeOf(value) === typeOf(stored)) && !values.some(equal)
      );
    default: {
      const value = values[0];
      if (!present || typeOf(stored) !== typeOf(value)) return false;
      const [left, right] = [stored as number | string, value as number | string];
      if (filter.type === "gt") return left > right;
      if (filter.type === "gte") return left >= right;
      if (filter.type === "lt") return left < right;
      return left <= right;
    }
  }
}

const scalar = fc.constantFrom(...VALUES.filter((value) => typeof value !== "boolean"));
const comparison: fc.Arbitrary<FilterExpression> = fc.oneof(
  fc.record({
    type: fc.constantFrom<ComparisonOperator>("eq", "ne"),
    key: fc.constantFrom(...KEYS),
    value: fc.constantFrom(...VALUES),
  }),
  fc.record({
    type: fc.constantFrom<ComparisonOperator>("gt", "gte", "lt", "lte"),
    key: fc.constantFrom(...KEYS),
    value: scalar,
  }),
  fc.record({
    type: fc.constantFrom<ComparisonOperator>("in", "nin"),
    key: fc.constantFrom(...KEYS),
    value: fc.array(fc.constantFrom(...VALUES), { maxLength: 4 }),
  }),
);
const filterTree = fc.letrec<{ node: FilterExpression }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparison,
    fc.record({
      type: fc.constantFrom("and" as const, "or" as const),
      filters: fc.array(tie("node"), { maxLength: 3 }),
    }),
  ),
})).node;

const dir = makeTempDir();
const store = new SqliteStore({ dataDir: dir.path, indexSaveIntervalMs: 0 });

before(async () => {
  await store.open();
  await store.createCollection({
    name: "filters",
    description: "",
    embedding: { provider: "local", model: "test", dimensions: 8 },
    chunking: { maxTokens: 64, overlapTokens: 8 },
  });
  for (let index = 0; index < DOCUMENTS; index++) {
    await putDocument(store, {
      collection: "filters",
      id: String(index),
      texts: [{ text: `common text ${index}`, axis: index % 8 }],
      metadata: metadataOf(index),
    });
  }
});
after(async () => {
  await store.close();
  dir.remove();
});

test("random filter trees select exactly what the reference evaluator selects", async (t) => {
  console.log(`filters: seed ${SEED} (replay with GLEANER_FILTER_SEED=${SEED})`);
  t.diagnostic(`seed ${SEED}`);
  await fc.assert(
    fc.asyncProperty(filterTree, async (filter) => {
      assert.deepEqual(parseMetadataFilter(filter), filter, "every generated filter is valid");
      const expected = Array.from({ length: DOCUMENTS }, (_, index) => index).filter((index) =>
        matches(metadataOf(index), filter),
      );
      for (const retrieve of [
        () => store.keywordSearch({ collection: "filters", text: "common", k: 100, filter }),
        () => store.vectorSearch({ collection: "filters", vector: axisVector(1), k: 100, filter }),
      ]) {
        const chunks = await store.getChunks((await retrieve()).map((hit) => hit.chunkId));
        const found = chunks.map((chunk) => Number(chunk.documentId)).sort((a, b) => a - b);
        assert.deepEqual(found, expected, JSON.stringify(filter));
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});
