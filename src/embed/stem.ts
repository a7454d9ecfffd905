import { stemmer } from "stemmer";

// Words repeat heavily across chunks; the cache halves embedding time. Cleared wholesale
// when full, which keeps memory bounded without changing any result.
const CACHE_LIMIT = 100_000;
const stems = new Map<string, string>();

/** The Porter (1980) stem of a lowercase word, through the `stemmer` package. */
export function stem(word: string): string {
  const cached = stems.get(word);
  if (cached !== undefined) return cached;
  const result = stemmer(word);
  if (stems.size >= CACHE_LIMIT) stems.clear();
  stems.set(word, result);
  return result;
}
