import { stem } from "../embed/stem.ts";
import { STOP_WORDS } from "../embed/text-analysis.ts";

/*
 * Terms as the keyword index sees them, so JS-side BM25 agrees with FTS5's statistics: SQLite's
 * `porter unicode61 remove_diacritics 2` tokenizer splits on everything but letters, digits
 * and private-use characters, folds case and diacritics, then Porter-stems each token. Unlike
 * `analyzeText` (the embedder's analysis) it keeps stop words and splits "1.5" into "1", "5":
 * document lengths must count what FTS5 counts.
 */

/** A token as FTS5's unicode61 tokenizer splits text (apply to `foldForKeywords` output). */
export const KEYWORD_TOKEN = /[\p{L}\p{N}\p{Co}]+/gu;
const TOKEN = KEYWORD_TOKEN;
const COMBINING_MARKS = /\p{Mn}+/gu;

/** Text folded as FTS5 folds it: lowercase, diacritics removed. */
export function foldForKeywords(text: string): string {
  return text.toLowerCase().normalize("NFD").replace(COMBINING_MARKS, "");
}

/** Every indexed token of `text`, in order, stemmed; stop words included. */
export function keywordTokens(text: string): string[] {
  const folded = foldForKeywords(text);
  const tokens: string[] = [];
  for (const match of folded.matchAll(TOKEN)) tokens.push(stem(match[0]));
  return tokens;
}

/**
 * Query terms as keyword search uses them: the query's distinct words minus stop words (all of
 * them when only stop words are left, unless `stopWordsAlone` is false: then none), stemmed,
 * with their counts.
 */
export function keywordQueryTerms(text: string, stopWordsAlone = true): Map<string, number> {
  const folded = foldForKeywords(text);
  const words = folded.match(TOKEN) ?? [];
  const kept = words.filter((word) => !STOP_WORDS.has(word));
  const counts = new Map<string, number>();
  for (const word of kept.length > 0 || !stopWordsAlone ? kept : words) {
    const term = stem(word);
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return counts;
}

/** Whether a term may be an expansion term: not a stop word, not a bare number, not one letter. */
export function isExpansionCandidate(term: string): boolean {
  return term.length > 1 && !STOP_WORDS.has(term) && !/^\p{N}+$/u.test(term);
}
