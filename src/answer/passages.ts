/*
 * Retrieved chunks as the extractive answerer reads them: sentences in order, each knowing its
 * neighbours, whether it refers back ("Its primary mirror…", "These problems…"), and what the
 * chunk is about (its subject: the title, or the head of the lead sentence). A question's terms that the
 * subject already has say which chunk is meant; the other terms say what is asked.
 */
import { analyzeText, normalizeText, STOP_WORDS } from "../embed/text-analysis.ts";
import { STRUCTURAL_LEVELS, trimRange } from "../ingest/text-boundaries.ts";

export interface SentenceRange {
  start: number;
  end: number;
}

/** What the answerer needs of a retrieved chunk. */
export interface PassageSource {
  text: string;
  title?: string | null | undefined;
}

export interface Sentence extends SentenceRange {
  /** 1-based position of the chunk among the sources. */
  source: number;
  text: string;
  terms: string[];
  /** Opens with a word that refers back (It, Its, They, These…): the subject is meant. */
  anaphoric: boolean;
  /** Already seen in a better-ranked chunk (chunks overlap): context only, never quoted. */
  repeated: boolean;
}

export interface ChunkPassages {
  source: number;
  text: string;
  sentences: Sentence[];
  /** The chunk's subject: terms of its title, or of its lead sentence's head. */
  subject: ReadonlySet<string>;
}

const [PARAGRAPHS, , SENTENCES] = STRUCTURAL_LEVELS;
const MAX_SENTENCE_CHARS = 400;
// A sentence "ending" in an initial or a common abbreviation ("o. reynolds", "e.g. the", "fig. 3")
// continues in the next one.
const NOT_AN_END =
  /(?:^|[\s.(])(?:\p{L}|e\.g|i\.e|cf|vs|fig|figs|eq|eqs|ref|refs|dr|mr|mrs|ms|prof)\.$/iu;
const ANAPHORS: ReadonlySet<string> = new Set(
  "it its they their theirs them this these those such he she his her".split(" "),
);
const FIRST_WORD = /^[^\p{L}]*(\p{L}+)/u;
const WORDS = /[\p{L}\p{N}]+/gu;
const MAX_HEAD_WORDS = 8;

/** Sentence ranges of a text: [start, end) trimmed, long runs cut at whitespace. */
export function splitSentences(text: string): SentenceRange[] {
  const cuts = [
    ...new Set([
      ...(PARAGRAPHS?.(text, 0, text.length) ?? []),
      ...(SENTENCES?.(text, 0, text.length) ?? []),
    ]),
  ].sort((a, b) => a - b);
  const pieces: SentenceRange[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    const [start, end] = trimRange(text, from, cut);
    from = cut;
    if (end <= start) continue;
    const previous = pieces.at(-1);
    if (previous && NOT_AN_END.test(text.slice(previous.start, previous.end))) {
      previous.end = end;
    } else {
      pieces.push({ start, end });
    }
  }
  return pieces.flatMap((piece) => capLength(text, piece));
}

function capLength(text: string, range: SentenceRange): SentenceRange[] {
  const ranges: SentenceRange[] = [];
  let start = range.start;
  while (range.end - start > MAX_SENTENCE_CHARS) {
    const space = text.lastIndexOf(" ", start + MAX_SENTENCE_CHARS);
    const cut = space > start ? space : start + MAX_SENTENCE_CHARS;
    ranges.push({ start, end: cut });
    [start] = trimRange(text, cut, range.end);
  }
  if (range.end > start) ranges.push({ start, end: range.end });
  return ranges;
}

function isAnaphoric(sentence: string): boolean {
  const word = FIRST_WORD.exec(sentence)?.[1]?.toLowerCase();
  return word !== undefined && ANAPHORS.has(word);
}

/**
 * What a chunk is about: its title's terms, or without a title the head of its lead sentence
 * (its first words up to the first stop word after a content word: "The James Webb Space
 * Telescope launched on…" → james, webb, space, telescope, launched).
 */
function subjectOf(title: string | null | undefined, sentences: readonly Sentence[]): Set<string> {
  if (title && analyzeText(title, "document").length > 0) {
    return new Set(analyzeText(title, "document"));
  }
  const lead = sentences[0]?.text ?? "";
  const head: string[] = [];
  for (const word of normalizeText(lead).match(WORDS) ?? []) {
    if (STOP_WORDS.has(word)) {
      if (head.length > 0) break;
      continue;
    }
    head.push(word);
    if (head.length >= MAX_HEAD_WORDS) break;
  }
  return new Set(analyzeText(head.join(" "), "document"));
}

/** The sources (numbered 1..n in order) split into sentences, each chunk with its subject. */
export function chunkPassages(sources: readonly PassageSource[]): ChunkPassages[] {
  const seen = new Set<string>();
  return sources.map(({ text, title }, index) => {
    const sentences = splitSentences(text).map((range): Sentence => {
      const sentence = text.slice(range.start, range.end);
      const key = sentence.replace(/\s+/g, " ");
      const repeated = seen.has(key);
      seen.add(key);
      return {
        source: index + 1,
        ...range,
        text: sentence,
        terms: analyzeText(sentence, "document"),
        anaphoric: isAnaphoric(sentence),
        repeated,
      };
    });
    return { source: index + 1, text, sentences, subject: subjectOf(title, sentences) };
  });
}
