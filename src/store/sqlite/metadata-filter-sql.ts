import type { FilterScalar, MetadataFilter } from "../store.ts";

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

/** A metadata filter as a SQL condition over a JSON text column, ANDed; "1" when empty. */
export function metadataFilterToSql(
  filter: MetadataFilter | undefined,
  column = "d.metadata",
): SqlFragment {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  for (const [key, condition] of Object.entries(filter ?? {})) {
    const path = jsonPathOfKey(key);
    const values =
      condition !== null && typeof condition === "object" ? condition.$in : [condition];
    if (values.length === 0) {
      clauses.push("0");
      continue;
    }
    // json_type keeps "1", 1 and true apart, as JSON does
    const alternatives = values.map((value: FilterScalar) => {
      if (value === null || typeof value === "boolean") {
        params.push(path);
        return `json_type(${column}, ?) = '${value === null ? "null" : String(value)}'`;
      }
      params.push(path, path, value);
      const types = typeof value === "string" ? "('text')" : "('integer', 'real')";
      return `(json_type(${column}, ?) IN ${types} AND json_extract(${column}, ?) = ?)`;
    });
    clauses.push(`(${alternatives.join(" OR ")})`);
  }
  return { sql: clauses.length > 0 ? clauses.join(" AND ") : "1", params };
}
