import {
  type ComparisonFilter,
  type FilterExpression,
  type FilterScalar,
  type MetadataFilter,
  toFilterExpression,
} from "../filter-expression.ts";

export interface SqlFragment {
  sql: string;
  params: (string | number)[];
}

/**
 * A top-level key as an SQLite JSON path. Inside a quoted label SQLite reads JSON string escapes,
 * so a backslash, a quote or a control character in a key is escaped as JSON would escape it.
 */
export function jsonPathOfKey(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

const RANGE_SQL = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/** json_type names of a scalar's JSON type: json_type keeps "1", 1 and true apart, as JSON does. */
function jsonTypes(value: FilterScalar): string {
  if (value === null) return "('null')";
  if (typeof value === "boolean") return "('true', 'false')";
  return typeof value === "string" ? "('text')" : "('integer', 'real')";
}

/**
 * A metadata filter (either spelling) as a SQL condition over a JSON text column; "1" when
 * empty. Typed: a value compares only with stored values of its JSON type (numbers as numbers,
 * strings by code point), so a type mismatch or a missing key matches nothing, for `ne` and
 * `nin` too.
 */
export function metadataFilterToSql(
  filter: MetadataFilter | undefined,
  column = "d.metadata",
): SqlFragment {
  const expression = toFilterExpression(filter);
  const params: (string | number)[] = [];
  if (expression === null) return { sql: "1", params };
  return { sql: compile(expression, column, params), params };
}

function compile(node: FilterExpression, column: string, params: (string | number)[]): string {
  if ("filters" in node) {
    if (node.filters.length === 0) return node.type === "and" ? "1" : "0";
    const parts = node.filters.map((child) => compile(child, column, params));
    return `(${parts.join(node.type === "and" ? " AND " : " OR ")})`;
  }
  return comparison(node, column, params);
}

function comparison(node: ComparisonFilter, column: string, params: (string | number)[]): string {
  const path = jsonPathOfKey(node.key);
  const typeIs = (value: FilterScalar): string => {
    params.push(path);
    return `json_type(${column}, ?) IN ${jsonTypes(value)}`;
  };
  const equals = (value: FilterScalar): string => {
    if (value === null) return typeIs(null);
    if (typeof value === "boolean") {
      params.push(path);
      return `json_type(${column}, ?) = '${String(value)}'`;
    }
    const type = typeIs(value);
    params.push(path, value);
    return `(${type} AND json_extract(${column}, ?) = ?)`;
  };
  const values = Array.isArray(node.value) ? node.value : [node.value];
  switch (node.type) {
    case "eq":
    case "in": {
      if (values.length === 0) return "0";
      return `(${values.map(equals).join(" OR ")})`;
    }
    case "ne":
    case "nin": {
      // present with the type of one of the values, and equal to none of them
      if (values.length === 0) {
        params.push(path);
        return `json_type(${column}, ?) IS NOT NULL`;
      }
      const types = [...new Map(values.map((value) => [jsonTypes(value), value])).values()];
      const typed = types.map(typeIs).join(" OR ");
      return `((${typed}) AND NOT (${values.map(equals).join(" OR ")}))`;
    }
    default: {
      const value = values[0] as FilterScalar;
      const type = typeIs(value);
      params.push(path, typeof value === "boolean" ? Number(value) : (value as string | number));
      return `(${type} AND json_extract(${column}, ?) ${RANGE_SQL[node.type]} ?)`;
    }
  }
}
