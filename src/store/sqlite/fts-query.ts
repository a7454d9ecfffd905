/** Words of a query as FTS5 tokens would see them: letters and digits, lowercased. */
export function queryTerms(text: string): string[] {
  const words =
    text
      .normalize("NFKC")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)];
}

/**
 * A free-text query as an FTS5 MATCH expression: every term quoted (so no user text is read as
 * FTS syntax) and OR-ed, letting BM25 rank documents by how many and how rare the matches are.
 * Returns null when the query has no searchable term.
 */
export function toFtsMatchExpression(text: string, stopWords?: ReadonlySet<string>): string | null {
  const terms = queryTerms(text);
  const kept = stopWords ? terms.filter((term) => !stopWords.has(term)) : terms;
  const chosen = kept.length > 0 ? kept : terms;
  if (chosen.length === 0) return null;
  return chosen.map((term) => `"${term}"`).join(" OR ");
}
