/*
 * The answerer that needs no model: it quotes the retrieved passages that best answer the
 * question. A sentence is scored as a passage — with its chunk's subject (which "It"/"Its"
 * name, and which every sentence of the chunk is about) and its neighbours — by BM25 weights
 * over the sentences of the retrieved chunks. Question terms that the chunk's subject already
 * has only say which chunk is meant, so they count about the same for all its sentences: a
 * sentence that adds what is asked beats one that repeats the subject. Weak evidence yields "not in the sources", citing nothing.
 */
import { analyzeText } from "../embed/text-analysis.ts";
import type { DraftCitation } from "./citations.ts";
import {
  type ChunkPassages,
  chunkPassages,
  type PassageSource,
  type Sentence,
  splitSentences,
} from "./passages.ts";

export type { PassageSource };
export { splitSentences };

export const NOT_IN_SOURCES = "The sources do not contain an answer to this question.";

export interface ExtractiveOptions {
  /** Most passages quoted (default 3). */
  maxSentences?: number;
  /** Share of the question's term weight the best passage must match (default 0.45). */
  minCoverage?: number;
}

export interface ExtractiveDraft {
  answer: string;
  citations: DraftCitation[];
  insufficientContext: boolean;
}

const MIN_SENTENCE_TERMS = 2;
// Stems of words that shape a question ("how much", "how many") but are no evidence to match.
const QUESTION_FILLERS: ReadonlySet<string> = new Set(["much", "mani", "often"]);
const MARKER_LIKE = /\[(\d[^\]]*)\]/g;
const K1 = 1.2;
const B = 0.75;
/** A subject term the sentence does not repeat still holds for it: the chunk is about it. */
const SUBJECT_CREDIT = 0.6;
/** A term of the sentence before or after: the passage around the sentence. */
const NEIGHBOUR_CREDIT = 0.3;
/**
 * Question terms in the chunk's subject name the chunk, not what is asked: every sentence of
 * the chunk gets this share of their weight, stated or not, so its sentences compete on the
 * other terms, while a chunk about the subject still beats one that mentions it in passing.
 */
const SUBJECT_SHARE = 0.5;

interface Scored {
  chunk: ChunkPassages;
  index: number;
  sentence: Sentence;
  score: number;
  coverage: number;
  /** Question terms the sentence states (or names with "It"/"Its"). */
  matched: Set<string>;
  /** Of those, the ones not in the chunk's subject: what it adds. */
  asked: Set<string>;
}

/** BM25 IDF of each term over the sentences, and their average length. */
function sentenceStatistics(
  terms: readonly string[],
  sentences: readonly Sentence[],
): { idf: Map<string, number>; averageLength: number } {
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(sentence.terms)) {
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    }
  }
  const count = sentences.length;
  const idf = new Map(
    terms.map((term) => {
      const df = documentFrequency.get(term) ?? 0;
      return [term, Math.log(1 + (count - df + 0.5) / (df + 0.5))];
    }),
  );
  const averageLength = sentences.reduce((sum, s) => sum + s.terms.length, 0) / (count || 1);
  return { idf, averageLength: averageLength || 1 };
}

function frequencies(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

/** How much of a question term a sentence holds, and whether it states it. */
function termCredit(
  term: string,
  sentence: Sentence,
  frequency: ReadonlyMap<string, number>,
  lengthNorm: number,
  inSubject: boolean,
  near: ReadonlySet<string>,
): { credit: number; stated: boolean } {
  const tf = frequency.get(term) ?? 0;
  if (tf > 0) return { credit: (tf * (K1 + 1)) / (tf + K1 * lengthNorm), stated: true };
  if (inSubject)
    return { credit: sentence.anaphoric ? 1 : SUBJECT_CREDIT, stated: sentence.anaphoric };
  return { credit: near.has(term) ? NEIGHBOUR_CREDIT : 0, stated: false };
}

function scorePassages(
  queryTerms: readonly string[],
  chunks: readonly ChunkPassages[],
): { scored: Scored[]; idf: Map<string, number> } {
  const unique = [...new Set(queryTerms)];
  const all = chunks.flatMap((chunk) => chunk.sentences.filter((s) => !s.repeated));
  const { idf, averageLength } = sentenceStatistics(unique, all);
  const totalWeight = unique.reduce((sum, term) => sum + (idf.get(term) ?? 0), 0);
  const scored: Scored[] = [];
  for (const chunk of chunks) {
    chunk.sentences.forEach((sentence, index) => {
      if (sentence.repeated || sentence.terms.length < MIN_SENTENCE_TERMS) return;
      const frequency = frequencies(sentence.terms);
      const near = new Set([
        ...(chunk.sentences[index - 1]?.terms ?? []),
        ...(chunk.sentences[index + 1]?.terms ?? []),
      ]);
      const lengthNorm = 1 - B + (B * sentence.terms.length) / averageLength;
      let score = 0;
      // Coverage counts what the sentence states and what its chunk is about, not neighbours.
      let weight = 0;
      const matched = new Set<string>();
      const asked = new Set<string>();
      for (const term of unique) {
        const termIdf = idf.get(term) ?? 0;
        const inSubject = chunk.subject.has(term);
        const { credit, stated } = termCredit(
          term,
          sentence,
          frequency,
          lengthNorm,
          inSubject,
          near,
        );
        score += termIdf * (inSubject ? SUBJECT_SHARE + (1 - SUBJECT_SHARE) * credit : credit);
        if (stated) {
          matched.add(term);
          if (!inSubject) asked.add(term);
          weight += termIdf;
        } else if (inSubject) {
          weight += termIdf * SUBJECT_CREDIT;
        }
      }
      if (matched.size === 0) return;
      const coverage = totalWeight > 0 ? weight / totalWeight : 0;
      scored.push({ chunk, index, sentence, score, coverage, matched, asked });
    });
  }
  return { scored, idf };
}

/**
 * The range to quote: the sentence, widened to a neighbour that states asked terms the
 * sentence lacks, weighing at least half of the asked terms it states (the two together answer;
 * a passing mention of one more question word does not make a window).
 */
function quoteWindow(
  pick: Scored,
  queryTerms: ReadonlySet<string>,
  idf: ReadonlyMap<string, number>,
): { start: number; end: number } {
  const { chunk, index, sentence } = pick;
  const weightOf = (terms: Iterable<string>): number =>
    [...terms].reduce((sum, term) => sum + (idf.get(term) ?? 0), 0);
  const own = weightOf(pick.asked);
  const joins = (neighbour: Sentence | undefined): neighbour is Sentence => {
    if (neighbour === undefined) return false;
    const adds = new Set(
      neighbour.terms.filter(
        (term) => queryTerms.has(term) && !chunk.subject.has(term) && !pick.matched.has(term),
      ),
    );
    return adds.size > 0 && weightOf(adds) >= 0.5 * own;
  };
  const before = chunk.sentences[index - 1];
  const after = chunk.sentences[index + 1];
  return {
    start: joins(before) ? before.start : sentence.start,
    end: joins(after) ? after.end : sentence.end,
  };
}

function jaccard(a: readonly string[], b: readonly string[]): number {
  const left = new Set(a);
  const right = new Set(b);
  let shared = 0;
  for (const term of left) if (right.has(term)) shared++;
  return shared / (left.size + right.size - shared || 1);
}

/**
 * Picks 1–3 verbatim passages from the sources (numbered 1..n in the given order) that best
 * answer the question; when the best one matches too little of it, answers NOT_IN_SOURCES.
 */
export function extractiveAnswer(
  question: string,
  sources: readonly (string | PassageSource)[],
  options: ExtractiveOptions = {},
): ExtractiveDraft {
  const maxSentences = options.maxSentences ?? 3;
  const minCoverage = options.minCoverage ?? 0.45;
  const queryTerms = analyzeText(question, "query").filter((term) => !QUESTION_FILLERS.has(term));
  const chunks = chunkPassages(
    sources.map((source) => (typeof source === "string" ? { text: source } : source)),
  );
  const { scored, idf } = scorePassages(queryTerms, chunks);
  scored.sort((a, b) => b.score - a.score);
  const best = scored[0];
  if (!best || best.coverage < minCoverage) {
    return { answer: NOT_IN_SOURCES, citations: [], insufficientContext: true };
  }
  const picks: Scored[] = [best];
  const covered = new Set(best.matched);
  // Maximal marginal relevance: a later pick must score well, state question terms not yet
  // covered, and must not repeat what is already quoted.
  while (picks.length < maxSentences) {
    let choice: Scored | null = null;
    let choiceValue = Number.NEGATIVE_INFINITY;
    for (const candidate of scored) {
      if (picks.includes(candidate) || candidate.score < best.score * 0.6) continue;
      if (![...candidate.matched].some((term) => !covered.has(term))) continue;
      const redundancy = Math.max(
        ...picks.map((pick) => jaccard(pick.sentence.terms, candidate.sentence.terms)),
      );
      if (redundancy > 0.5) continue;
      const value = candidate.score / best.score - 0.7 * redundancy + 0.2;
      if (value > choiceValue) {
        choice = candidate;
        choiceValue = value;
      }
    }
    if (!choice || choiceValue < 0.5) break;
    picks.push(choice);
    for (const term of choice.matched) covered.add(term);
  }
  const terms = new Set(queryTerms);
  const windows = picks.map((pick) => ({ pick, ...quoteWindow(pick, terms, idf) }));
  // A window widened over a sentence that is also a pick quotes it once.
  const quoted = windows.filter(
    (window, position) =>
      !windows.some(
        (other, earlier) =>
          earlier < position &&
          other.pick.chunk === window.pick.chunk &&
          other.start < window.end &&
          window.start < other.end,
      ),
  );
  const citations: DraftCitation[] = quoted.map((window, index) => ({
    n: index + 1,
    quote: window.pick.chunk.text.slice(window.start, window.end),
    source: window.pick.sentence.source,
  }));
  // Line breaks of the source (PDF layout) do not belong in the answer; the citation keeps them.
  // A bracketed number inside a quoted sentence (a reference list entry) would read as a marker.
  const answer = citations
    .map((citation) => {
      const text = citation.quote.replace(/\s+/g, " ").replace(MARKER_LIKE, "($1)");
      return `${text} [${citation.n}]`;
    })
    .join(" ");
  return { answer, citations, insufficientContext: false };
}

/**
 * The sentence of `sourceText` that best supports `claim` (shared terms, BM25-weighted within
 * the source), or null when they share no term: how a streamed `[n]` gets its quote.
 */
export function supportingSentence(claim: string, sourceText: string): string | null {
  const terms = [...new Set(analyzeText(claim, "query"))];
  const sentences = (chunkPassages([{ text: sourceText }])[0]?.sentences ?? []).filter(
    (sentence) => !sentence.repeated && sentence.terms.length >= MIN_SENTENCE_TERMS,
  );
  const { idf, averageLength } = sentenceStatistics(terms, sentences);
  let best: { text: string; score: number } | null = null;
  for (const sentence of sentences) {
    const frequency = frequencies(sentence.terms);
    const lengthNorm = 1 - B + (B * sentence.terms.length) / averageLength;
    let score = 0;
    for (const term of terms) {
      const tf = frequency.get(term) ?? 0;
      if (tf > 0) score += ((idf.get(term) ?? 0) * tf * (K1 + 1)) / (tf + K1 * lengthNorm);
    }
    if (score > 0 && (!best || score > best.score)) best = { text: sentence.text, score };
  }
  return best ? best.text : null;
}
