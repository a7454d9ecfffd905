/*
 * The answerer that needs no model: it quotes the retrieved sentences that best match the
 * question. Sentences are scored with BM25 over the sentences of the retrieved chunks (so a
 * question term that no sentence has weighs heavily against every sentence), picks are
 * diversified by term overlap, and weak evidence yields "not in the sources", citing nothing.
 */
import { analyzeText } from "../embed/text-analysis.ts";
import type { DraftCitation } from "./citations.ts";

export const NOT_IN_SOURCES = "The sources do not contain an answer to this question.";

export interface ExtractiveOptions {
  /** Most sentences quoted (default 3). */
  maxSentences?: number;
  /** Share of the question's term weight the best sentence must match (default 0.45). */
  minCoverage?: number;
}

export interface ExtractiveDraft {
  answer: string;
  citations: DraftCitation[];
  insufficientContext: boolean;
}

interface Sentence {
  source: number;
  start: number;
  end: number;
  text: string;
  terms: string[];
}

const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s|$)|\n\s*\n/g;
const MAX_SENTENCE_CHARS = 400;
const MIN_SENTENCE_TERMS = 2;
// Stems of words that shape a question ("how much", "how many") but are no evidence to match.
const QUESTION_FILLERS: ReadonlySet<string> = new Set(["much", "mani", "often"]);
const MARKER_LIKE = /\[(\d[^\]]*)\]/g;
const K1 = 1.2;
const B = 0.75;

/** Sentence ranges of a text: [start, end) trimmed, long runs cut at whitespace. */
export function splitSentences(text: string): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  const push = (from: number, to: number): void => {
    let start = from;
    let end = to;
    while (start < end && /\s/.test(text[start] as string)) start++;
    while (end > start && /\s/.test(text[end - 1] as string)) end--;
    while (end - start > MAX_SENTENCE_CHARS) {
      const space = text.lastIndexOf(" ", start + MAX_SENTENCE_CHARS);
      const cut = space > start ? space : start + MAX_SENTENCE_CHARS;
      ranges.push({ start, end: cut });
      start = cut;
      while (start < end && /\s/.test(text[start] as string)) start++;
    }
    if (end > start) ranges.push({ start, end });
  };
  let from = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const to = match.index + match[0].length;
    push(from, to);
    from = to;
  }
  push(from, text.length);
  return ranges;
}

function sentencesOf(texts: readonly string[]): Sentence[] {
  const sentences: Sentence[] = [];
  const seen = new Set<string>();
  texts.forEach((text, index) => {
    for (const range of splitSentences(text)) {
      const sentence = text.slice(range.start, range.end);
      // Overlapping chunks repeat sentences; the first (better-ranked) source keeps it.
      const key = sentence.replace(/\s+/g, " ");
      if (seen.has(key)) continue;
      seen.add(key);
      const terms = analyzeText(sentence, "document");
      if (terms.length < MIN_SENTENCE_TERMS) continue;
      sentences.push({ source: index + 1, ...range, text: sentence, terms });
    }
  });
  return sentences;
}

interface Scored {
  sentence: Sentence;
  score: number;
  coverage: number;
  matched: Set<string>;
}

function scoreSentences(queryTerms: readonly string[], sentences: readonly Sentence[]): Scored[] {
  const unique = [...new Set(queryTerms)];
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(sentence.terms)) {
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    }
  }
  const count = sentences.length;
  const averageLength = sentences.reduce((sum, s) => sum + s.terms.length, 0) / (count || 1);
  const idf = new Map(
    unique.map((term) => {
      const df = documentFrequency.get(term) ?? 0;
      return [term, Math.log(1 + (count - df + 0.5) / (df + 0.5))];
    }),
  );
  const totalWeight = unique.reduce((sum, term) => sum + (idf.get(term) ?? 0), 0);
  return sentences.map((sentence) => {
    const frequency = new Map<string, number>();
    for (const term of sentence.terms) frequency.set(term, (frequency.get(term) ?? 0) + 1);
    let score = 0;
    let weight = 0;
    const matched = new Set<string>();
    for (const term of unique) {
      const tf = frequency.get(term) ?? 0;
      if (tf === 0) continue;
      const termIdf = idf.get(term) ?? 0;
      matched.add(term);
      weight += termIdf;
      score +=
        (termIdf * tf * (K1 + 1)) /
        (tf + K1 * (1 - B + (B * sentence.terms.length) / (averageLength || 1)));
    }
    return { sentence, score, coverage: totalWeight > 0 ? weight / totalWeight : 0, matched };
  });
}

function jaccard(a: readonly string[], b: readonly string[]): number {
  const left = new Set(a);
  const right = new Set(b);
  let shared = 0;
  for (const term of left) if (right.has(term)) shared++;
  return shared / (left.size + right.size - shared || 1);
}

/**
 * Picks 1–3 verbatim sentences from the sources (numbered 1..n in the given order) that best
 * answer the question; when the best one matches too little of it, answers NOT_IN_SOURCES.
 */
export function extractiveAnswer(
  question: string,
  sourceTexts: readonly string[],
  options: ExtractiveOptions = {},
): ExtractiveDraft {
  const maxSentences = options.maxSentences ?? 3;
  const minCoverage = options.minCoverage ?? 0.45;
  const queryTerms = analyzeText(question, "query").filter((term) => !QUESTION_FILLERS.has(term));
  const scored = scoreSentences(queryTerms, sentencesOf(sourceTexts))
    .filter((entry) => entry.score > 0)
    .sort((a, b) => b.score - a.score);
  const best = scored[0];
  if (!best || best.coverage < minCoverage) {
    return { answer: NOT_IN_SOURCES, citations: [], insufficientContext: true };
  }
  const picks: Scored[] = [best];
  const covered = new Set(best.matched);
  // Maximal marginal relevance: a later pick must score well, add question terms not yet
  // covered or come from elsewhere, and must not repeat what is already quoted.
  while (picks.length < maxSentences) {
    let choice: Scored | null = null;
    let choiceValue = Number.NEGATIVE_INFINITY;
    for (const candidate of scored) {
      if (picks.includes(candidate) || candidate.score < best.score * 0.6) continue;
      const redundancy = Math.max(
        ...picks.map((pick) => jaccard(pick.sentence.terms, candidate.sentence.terms)),
      );
      if (redundancy > 0.5) continue;
      const adds = [...candidate.matched].some((term) => !covered.has(term));
      const value = candidate.score / best.score - 0.7 * redundancy + (adds ? 0.2 : 0);
      if (value > choiceValue) {
        choice = candidate;
        choiceValue = value;
      }
    }
    if (!choice || choiceValue < 0.5) break;
    picks.push(choice);
    for (const term of choice.matched) covered.add(term);
  }
  const citations: DraftCitation[] = picks.map((pick, index) => ({
    n: index + 1,
    quote: pick.sentence.text,
    source: pick.sentence.source,
  }));
  // Line breaks of the source (PDF layout) do not belong in the answer; the citation keeps them.
  // A bracketed number inside a quoted sentence (a reference list entry) would read as a marker.
  const answer = picks
    .map((pick, index) => {
      const sentence = pick.sentence.text.replace(/\s+/g, " ").replace(MARKER_LIKE, "($1)");
      return `${sentence} [${index + 1}]`;
    })
    .join(" ");
  return { answer, citations, insufficientContext: false };
}

/**
 * The sentence of `sourceText` that best supports `claim` (shared terms, BM25-weighted within
 * the source), or null when they share no term: how a streamed `[n]` gets its quote.
 */
export function supportingSentence(claim: string, sourceText: string): string | null {
  const scored = scoreSentences(analyzeText(claim, "query"), sentencesOf([sourceText]));
  let best: Scored | null = null;
  for (const entry of scored)
    if (entry.score > 0 && (!best || entry.score > best.score)) best = entry;
  return best ? best.sentence.text : null;
}
