import {
  type ComparisonFilter,
  type FilterExpression,
  type FilterScalar,
  type MetadataFilter,
  toFilterExpression,
} from "../filter-expression.ts";

export interface SqlFragment {
  sql: string;
  params: string[];
}

const RANGE_SQL = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

function jsonbType(value: FilterScalar): string {
  if (value === null) return "null";
  return typeof value === "string" ? "string" : typeof value === "number" ? "number" : "boolean";
}

/**
 * A metadata filter (either spelling) as a SQL condition over a jsonb column; "TRUE" when empty.
 * Parameters are numbered from `firstParam`. Typed like SQLite's: jsonb equality keeps "1", 1
 * and true apart and compares numbers by value; ranges compare numbers as numbers and strings
 * by code point (COLLATE "C", as SQLite's BINARY); a type mismatch or a missing key matches
 * nothing, for `ne` and `nin` too.
 */
export function metadataFilterToSql(
  filter: MetadataFilter | undefined,
  firstParam: number,
  column = "d.metadata",
): SqlFragment {
  const params: string[] = [];
  const next = (value: string): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const expression = toFilterExpression(filter);
  if (expression === null) return { sql: "TRUE", params };
  return { sql: compile(expression, column, next), params };
}

function compile(node: FilterExpression, column: string, next: (value: string) => string): string {
  if ("filters" in node) {
    if (node.filters.length === 0) return node.type === "and" ? "TRUE" : "FALSE";
    const parts = node.filters.map((child) => compile(child, column, next));
    return `(${parts.join(node.type === "and" ? " AND " : " OR ")})`;
  }
  return comparison(node, column, next);
}

function comparison(
  node: ComparisonFilter,
  column: string,
  next: (value: string) => string,
): string {
  const values = Array.isArray(node.value) ? node.value : [node.value];
  // an empty list needs no parameter: every one taken must appear in the SQL
  if (values.length === 0)
    return node.type === "nin" || node.type === "ne"
      ? `(${column} ? ${next(node.key)}::text)`
      : "FALSE";
  const field = `(${column} -> ${next(node.key)}::text)`;
  const among = (list: FilterScalar[]): string =>
    `${field} IN (${list.map((value) => `${next(JSON.stringify(value))}::jsonb`).join(", ")})`;
  switch (node.type) {
    case "eq":
    case "in":
      return among(values);
    case "ne":
    case "nin": {
      const types = [...new Set(values.map(jsonbType))].map((type) => `'${type}'`);
      return `(jsonb_typeof(${field}) IN (${types.join(", ")}) AND NOT ${among(values)})`;
    }
    default: {
      const value = values[0] as FilterScalar;
      const operator = RANGE_SQL[node.type];
      if (typeof value === "string") {
        return `(jsonb_typeof(${field}) = 'string' AND (${field} #>> '{}') COLLATE "C" ${operator} ${next(value)}::text COLLATE "C")`;
      }
      return `(jsonb_typeof(${field}) = '${jsonbType(value)}' AND ${field} ${operator} ${next(JSON.stringify(value))}::jsonb)`;
    }
  }
}
