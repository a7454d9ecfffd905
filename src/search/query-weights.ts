import { analyzeText } from "../embed/text-analysis.ts";
import type { Store } from "../store/store.ts";

/** BM25's inverse document frequency; the +1 inside the log keeps it positive for common terms. */
export function inverseDocumentFrequency(documentFrequency: number, documents: number): number {
  return Math.log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/**
 * Per-term IDF weights for a query, from the store's corpus statistics: the local embedder is
 * stateless, so without them "what" and "hypersonic" would count alike. Null when the backend
 * offers no statistics or the query has no terms.
 */
export async function queryTermWeights(
  store: Store,
  collection: string,
  query: string,
): Promise<((term: string) => number) | null> {
  if (!store.termStatistics) return null;
  const terms = [...new Set(analyzeText(query, "query"))];
  if (terms.length === 0) return null;
  const { chunkCount, documentFrequencies } = await store.termStatistics(collection, terms);
  if (chunkCount === 0) return null;
  const weights = new Map(
    terms.map((term) => [
      term,
      inverseDocumentFrequency(documentFrequencies.get(term) ?? 0, chunkCount),
    ]),
  );
  return (term) => weights.get(term) ?? 1;
}
