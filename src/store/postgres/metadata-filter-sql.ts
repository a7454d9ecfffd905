import type { FilterScalar, MetadataFilter } from "../store.ts";

export interface SqlFragment {
  sql: string;
  params: string[];
}

/**
 * A metadata filter as a SQL condition over a jsonb column, ANDed; "TRUE" when empty. Parameters
 * are numbered from `firstParam`. jsonb equality keeps "1", 1 and true apart (as SQLite's
 * json_type check does), compares numbers by value, and a missing key matches nothing.
 */
export function metadataFilterToSql(
  filter: MetadataFilter | undefined,
  firstParam: number,
  column = "d.metadata",
): SqlFragment {
  const clauses: string[] = [];
  const params: string[] = [];
  const next = (value: string): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  for (const [key, condition] of Object.entries(filter ?? {})) {
    const values =
      condition !== null && typeof condition === "object" ? condition.$in : [condition];
    if (values.length === 0) {
      clauses.push("FALSE");
      continue;
    }
    const keyParam = next(key);
    const valueParams = values.map(
      (value: FilterScalar) => `${next(JSON.stringify(value))}::jsonb`,
    );
    clauses.push(`(${column} -> ${keyParam}::text) IN (${valueParams.join(", ")})`);
  }
  return { sql: clauses.length > 0 ? clauses.join(" AND ") : "TRUE", params };
}
