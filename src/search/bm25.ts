/*
 * Okapi BM25 with query-term weights (Robertson & Zaragoza, 2009), computed in JS over a
 * candidate set so RM3 can weight its expansion terms, which FTS5's bm25() cannot.
 *   score(d) = Σ_t w(t) · idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d| / avgdl))
 * with idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)) (Lucene's, always positive).
 */

export interface Bm25Parameters {
  k1: number;
  b: number;
}

/** Textbook values (Robertson; also Lucene's and FTS5's defaults). */
export const DEFAULT_BM25: Bm25Parameters = { k1: 1.2, b: 0.75 };

/** A candidate's term counts and length, in the index's terms. */
export interface TermCounts {
  frequencies: ReadonlyMap<string, number>;
  length: number;
}

export interface CollectionStatistics {
  /** Documents (chunks) in the collection. */
  documents: number;
  averageLength: number;
  /** Documents containing each term; a missing term counts as 0. */
  documentFrequencies: ReadonlyMap<string, number>;
}

/** BM25's IDF, Lucene's variant: the +1 inside the log keeps it positive for common terms. */
export function bm25Idf(documentFrequency: number, documents: number): number {
  return Math.log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/** The weighted BM25 score of one document for a weighted query. */
export function bm25Score(
  query: ReadonlyMap<string, number>,
  document: TermCounts,
  statistics: CollectionStatistics,
  parameters: Bm25Parameters = DEFAULT_BM25,
): number {
  const { k1, b } = parameters;
  const averageLength = statistics.averageLength > 0 ? statistics.averageLength : 1;
  const norm = k1 * (1 - b + (b * document.length) / averageLength);
  let score = 0;
  for (const [term, weight] of query) {
    const tf = document.frequencies.get(term) ?? 0;
    if (tf === 0 || weight === 0) continue;
    // a term seen in a candidate occurs at least once, whatever stale statistics say
    const df = Math.max(1, statistics.documentFrequencies.get(term) ?? 0);
    const idf = bm25Idf(df, Math.max(statistics.documents, df));
    score += (weight * idf * tf * (k1 + 1)) / (tf + norm);
  }
  return score;
}

/** Counts of a token list. */
export function countTerms(tokens: readonly string[]): TermCounts {
  const frequencies = new Map<string, number>();
  for (const token of tokens) frequencies.set(token, (frequencies.get(token) ?? 0) + 1);
  return { frequencies, length: tokens.length };
}

/**
 * Term proximity (Büttcher, Clarke & Lushman, 2006, "BM25TP"): each pair of neighbouring
 * occurrences of two different query terms, `d` tokens apart, adds idf(other)/d² to both terms'
 * accumulators; an accumulator then scores like a term frequency, weighted by min(1, idf)·w(t).
 * Only `query`'s terms take part; `tokens` is the document in index order.
 */
export function proximityScore(
  query: ReadonlyMap<string, number>,
  tokens: readonly string[],
  statistics: CollectionStatistics,
  parameters: Bm25Parameters = DEFAULT_BM25,
): number {
  if (query.size < 2) return 0;
  const idf = new Map<string, number>();
  for (const term of query.keys()) {
    const df = Math.max(1, statistics.documentFrequencies.get(term) ?? 0);
    idf.set(term, bm25Idf(df, Math.max(statistics.documents, df)));
  }
  const accumulators = new Map<string, number>();
  let previous: { term: string; position: number } | null = null;
  tokens.forEach((token, position) => {
    const tokenIdf = idf.get(token);
    if (tokenIdf === undefined) return;
    if (previous && previous.term !== token) {
      const distance = position - previous.position;
      const previousIdf = idf.get(previous.term) ?? 0;
      const gain = 1 / (distance * distance);
      accumulators.set(token, (accumulators.get(token) ?? 0) + previousIdf * gain);
      accumulators.set(previous.term, (accumulators.get(previous.term) ?? 0) + tokenIdf * gain);
    }
    previous = { term: token, position };
  });
  const { k1, b } = parameters;
  const averageLength = statistics.averageLength > 0 ? statistics.averageLength : 1;
  const norm = k1 * (1 - b + (b * tokens.length) / averageLength);
  let score = 0;
  for (const [term, accumulator] of accumulators) {
    const weight = query.get(term) ?? 0;
    score +=
      (weight * Math.min(1, idf.get(term) ?? 0) * accumulator * (k1 + 1)) / (accumulator + norm);
  }
  return score;
}
