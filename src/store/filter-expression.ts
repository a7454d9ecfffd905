/*
 * Metadata filters in two spellings. The native one is `{"key": value | {"$in": [values]}}`
 * (keys ANDed); OpenAI's is a tree of ComparisonFilter `{type: eq|ne|gt|gte|lt|lte|in|nin, key,
 * value}` and CompoundFilter `{type: and|or, filters}`. An object is read as OpenAI's when its
 * `type` is one of those operator names AND it has a `key` or a `filters` member; anything else
 * is the native form (so a metadata key named "type" still filters natively, e.g.
 * `{"type": "report"}`). Both become one FilterExpression, which the stores compile to SQL.
 */
import { AppError } from "../errors.ts";

export type FilterScalar = string | number | boolean | null;

/** The native filter: every key must match (a value, or one of `$in`). */
export type NativeFilter = Record<string, FilterScalar | { $in: FilterScalar[] }>;

export type ComparisonOperator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin";

export interface ComparisonFilter {
  type: ComparisonOperator;
  key: string;
  value: FilterScalar | FilterScalar[];
}

export interface CompoundFilter {
  type: "and" | "or";
  filters: FilterExpression[];
}

export type FilterExpression = ComparisonFilter | CompoundFilter;

/** What search accepts: either spelling. */
export type MetadataFilter = NativeFilter | FilterExpression;

const COMPARISONS = new Set<string>(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]);
const COMPOUNDS = new Set<string>(["and", "or"]);
const MAX_DEPTH = 8;
const MAX_NODES = 256;
const MAX_LIST = 1000;
const MAX_KEY_CHARS = 256;
const MAX_STRING_CHARS = 1000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is refused
const UNSTORABLE = /[\u0000\p{Cs}]/u;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** True when `value` is spelled the OpenAI way (see the module comment for the rule). */
export function isOpenAIFilterShape(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.type === "string" &&
    (COMPARISONS.has(value.type) || COMPOUNDS.has(value.type)) &&
    ("key" in value || "filters" in value)
  );
}

/** The filter as one expression tree; null when it constrains nothing. */
export function toFilterExpression(filter: MetadataFilter | undefined): FilterExpression | null {
  if (filter === undefined) return null;
  if (isOpenAIFilterShape(filter)) return filter as FilterExpression;
  const filters: FilterExpression[] = Object.entries(filter as NativeFilter).map(
    ([key, condition]) =>
      condition !== null && typeof condition === "object"
        ? { type: "in", key, value: condition.$in }
        : { type: "eq", key, value: condition },
  );
  if (filters.length === 0) return null;
  return filters.length === 1 ? (filters[0] as FilterExpression) : { type: "and", filters };
}

/**
 * Checks an untrusted filter in either spelling; throws invalid_request naming what is wrong.
 * Returns the same value, typed.
 */
export function parseMetadataFilter(value: unknown, param = "filter"): MetadataFilter {
  const fail = (where: string, message: string): never => {
    throw new AppError("invalid_request", `${where}: ${message}`, { param });
  };
  if (!isRecord(value)) return fail(param, "a filter must be a JSON object.");
  if (isOpenAIFilterShape(value)) {
    let nodes = 0;
    const check = (node: unknown, where: string, depth: number): undefined => {
      nodes += 1;
      if (nodes > MAX_NODES) fail(param, `at most ${MAX_NODES} filter nodes.`);
      if (depth > MAX_DEPTH) fail(where, `filters nest at most ${MAX_DEPTH} levels deep.`);
      if (!isRecord(node)) return fail(where, "each filter must be an object.");
      const type = node.type;
      if (typeof type === "string" && COMPOUNDS.has(type)) {
        const extra = Object.keys(node).filter((key) => key !== "type" && key !== "filters");
        if (extra.length > 0) fail(where, `unknown member "${extra[0]}" in a ${type} filter.`);
        if (!Array.isArray(node.filters)) {
          return fail(where, `a ${type} filter needs "filters": an array of filters.`);
        }
        node.filters.forEach((child, index) => {
          check(child, `${where}.filters[${index}]`, depth + 1);
        });
        return;
      }
      if (typeof type !== "string" || !COMPARISONS.has(type)) {
        return fail(
          where,
          'type must be one of "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "and", "or".',
        );
      }
      const extra = Object.keys(node).filter((key) => !["type", "key", "value"].includes(key));
      if (extra.length > 0) fail(where, `unknown member "${extra[0]}" in a comparison filter.`);
      checkKey(node.key, where, fail);
      if (!("value" in node)) return fail(where, `a "${type}" filter needs a value.`);
      const operand = node.value;
      if (type === "in" || type === "nin") {
        if (!Array.isArray(operand)) return fail(where, `"${type}" needs an array value.`);
        if (operand.length > MAX_LIST) fail(where, `at most ${MAX_LIST} values in "${type}".`);
        for (const item of operand) checkScalar(item, where, fail, ["string", "number", "boolean"]);
        return;
      }
      const allowed =
        type === "eq" || type === "ne" ? ["string", "number", "boolean"] : ["string", "number"];
      checkScalar(operand, where, fail, allowed);
    };
    check(value, param, 1);
    return value as unknown as FilterExpression;
  }
  const keys = Object.keys(value);
  if (keys.length > 32) fail(param, "at most 32 filter keys.");
  for (const key of keys) {
    checkKey(key, param, fail);
    const condition = value[key];
    if (isRecord(condition)) {
      const members = Object.keys(condition);
      if (members.length !== 1 || members[0] !== "$in" || !Array.isArray(condition.$in)) {
        fail(`${param}.${key}`, 'a condition object must be {"$in": [values]}.');
      }
      const list = condition.$in as unknown[];
      if (list.length > MAX_LIST) fail(`${param}.${key}`, `at most ${MAX_LIST} values in $in.`);
      for (const item of list) {
        checkScalar(item, `${param}.${key}`, fail, ["string", "number", "boolean", "null"]);
      }
    } else {
      checkScalar(condition, `${param}.${key}`, fail, ["string", "number", "boolean", "null"]);
    }
  }
  return value as NativeFilter;
}

function checkKey(
  key: unknown,
  where: string,
  fail: (where: string, message: string) => never,
): void {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_CHARS) {
    fail(where, `key must be a string of 1 to ${MAX_KEY_CHARS} characters.`);
  }
  if (UNSTORABLE.test(key as string)) {
    fail(where, "key must not contain NUL (U+0000) or unpaired surrogate characters.");
  }
}

function checkScalar(
  value: unknown,
  where: string,
  fail: (where: string, message: string) => never,
  allowed: string[],
): void {
  const kind = value === null ? "null" : typeof value;
  if (!allowed.includes(kind)) {
    fail(
      where,
      `a value must be ${allowed.join(" or ")}, not ${Array.isArray(value) ? "an array" : kind}.`,
    );
  }
  if (typeof value === "number" && !Number.isFinite(value)) fail(where, "numbers must be finite.");
  if (typeof value === "string") {
    if (value.length > MAX_STRING_CHARS) {
      fail(where, `string values are at most ${MAX_STRING_CHARS} characters.`);
    }
    if (UNSTORABLE.test(value)) {
      fail(where, "values must not contain NUL (U+0000) or unpaired surrogate characters.");
    }
  }
}
