import { z } from "zod";
import type { ParsedDocument } from "./parsers/parser.ts";
import {
  isCodePointBoundary,
  nextCodePoint,
  nextSentenceStart,
  nextWordStart,
  previousCodePoint,
  STRUCTURAL_LEVELS,
  snapCutToCluster,
  trimRange,
} from "./text-boundaries.ts";
import { charOffsetAfterTokens, countTokens } from "./tokenizer.ts";

/** Chunk size limits, in cl100k_base tokens. */
export const chunkingOptionsSchema = z
  .strictObject({
    maxTokens: z.number().int().min(16).max(8191),
    overlapTokens: z.number().int().min(0),
  })
  .refine((options) => options.overlapTokens <= options.maxTokens / 2, {
    message: "overlapTokens must be at most half of maxTokens",
    path: ["overlapTokens"],
  });

export type ChunkingOptions = z.infer<typeof chunkingOptionsSchema>;

export const DEFAULT_CHUNKING: Readonly<ChunkingOptions> = Object.freeze({
  maxTokens: 512,
  overlapTokens: 64,
});

/** A trimmed, non-empty range of the source text: `text === source.slice(charStart, charEnd)`. */
export interface TextChunk {
  text: string;
  charStart: number;
  charEnd: number;
  /** cl100k_base tokens of `text`, never more than `maxTokens`. */
  tokenCount: number;
}

export type ChunkTextInput = Pick<ParsedDocument, "text" | "headings">;

/** A piece of a section that fits in a chunk; consecutive atoms tile the text. */
interface Atom {
  start: number;
  end: number;
  tokens: number;
  /**
   * On the first atom of a section opening with a heading: the tokens that should stay
   * together from here (the section, plus the next one while a section is only its heading).
   */
  lookahead: number | undefined;
  /** Part of a section holding nothing but its heading, so never the end of a chunk. */
  headingOnly: boolean;
}

/** Overlap carried into the next chunk: the tail [start, end) of the previous chunk. */
interface Carry {
  start: number;
  end: number;
  tokens: number;
}

/**
 * Splits text into token-bounded chunks: structure first (headings, paragraphs, lines,
 * sentences, words, then a hard token cut), pieces merged greedily up to `maxTokens`, each
 * chunk starting with up to `overlapTokens` of the previous one unless it opens a section.
 */
export function chunkText(input: ChunkTextInput, options: ChunkingOptions): TextChunk[] {
  const { maxTokens, overlapTokens } = chunkingOptionsSchema.parse(options);
  const { text } = input;
  const atoms = atomize(text, input.headings, maxTokens);
  const chunks: TextChunk[] = [];
  let carry: Carry | undefined;
  let index = 0;
  while (index < atoms.length) {
    const first = atomAt(atoms, index);
    if (first.lookahead !== undefined) carry = undefined;
    if (carry !== undefined && carry.tokens + first.tokens > maxTokens) {
      carry = takeOverlap(text, carry, maxTokens - first.tokens);
    }
    let end = gatherAtoms(atoms, index, carry?.tokens ?? 0, maxTokens);
    let range: [number, number];
    let tokens: number;
    for (;;) {
      range = trimRange(text, carry?.start ?? first.start, atomAt(atoms, end - 1).end);
      tokens = countTokens(text.slice(range[0], range[1]));
      if (tokens <= maxTokens) break;
      // The estimate (a sum of piece counts) was short: tokens merge differently across joins.
      if (end - 1 > index) end--;
      else if (carry !== undefined) carry = undefined;
      else atoms.splice(index, 1, ...resplit(text, first, range, maxTokens));
    }
    const [charStart, charEnd] = range;
    const previousEnd = chunks.at(-1)?.charEnd ?? 0;
    // A chunk with no text beyond its overlap (trailing whitespace atoms) adds nothing.
    if (charEnd > charStart && (chunks.length === 0 || charEnd > previousEnd)) {
      chunks.push({ text: text.slice(charStart, charEnd), charStart, charEnd, tokenCount: tokens });
      carry =
        overlapTokens > 0
          ? takeOverlap(text, { start: charStart, end: charEnd, tokens }, overlapTokens)
          : undefined;
    }
    index = end;
  }
  return chunks;
}

/** The index after the last atom that fits, greedily, in a chunk starting at `index`. */
function gatherAtoms(atoms: Atom[], index: number, carried: number, maxTokens: number): number {
  let end = index;
  let estimate = carried;
  let hasBody = false;
  while (end < atoms.length) {
    const atom = atomAt(atoms, end);
    if (end > index) {
      if (estimate + atom.tokens > maxTokens) break;
      // Open a new chunk at a heading unless its whole section fits here too.
      if (hasBody && atom.lookahead !== undefined && estimate + atom.lookahead > maxTokens) break;
    }
    estimate += atom.tokens;
    hasBody ||= !atom.headingOnly;
    end++;
  }
  return end;
}

function atomAt(atoms: Atom[], index: number): Atom {
  const atom = atoms[index];
  if (atom === undefined) throw new RangeError(`No atom at ${index}`);
  return atom;
}

interface Section {
  start: number;
  end: number;
  atHeading: boolean;
  headingOnly: boolean;
}

function sectionsOf(text: string, headings: ChunkTextInput["headings"]): Section[] {
  const headingEnds = new Map<number, number>();
  for (const heading of headings) {
    const start = heading.charStart;
    if (!Number.isInteger(start) || start < 0 || start >= text.length) continue;
    if (!isCodePointBoundary(text, start)) continue;
    headingEnds.set(start, Math.max(headingEnds.get(start) ?? start, heading.charEnd));
  }
  const starts = [...headingEnds.keys()].sort((left, right) => left - right);
  const sections: Section[] = [];
  const firstHeading = starts[0] ?? text.length;
  if (firstHeading > 0) {
    sections.push({ start: 0, end: firstHeading, atHeading: false, headingOnly: false });
  }
  starts.forEach((start, position) => {
    const end = starts[position + 1] ?? text.length;
    const headingEnd = Math.min(Math.max(headingEnds.get(start) ?? start, start), end);
    const [bodyStart, bodyEnd] = trimRange(text, headingEnd, end);
    sections.push({ start, end, atHeading: true, headingOnly: bodyStart === bodyEnd });
  });
  return sections;
}

/** Splits every section into atoms of at most `maxTokens` and marks where sections begin. */
function atomize(text: string, headings: ChunkTextInput["headings"], maxTokens: number): Atom[] {
  const sections = sectionsOf(text, headings);
  const atoms: Atom[] = [];
  const firstAtoms: number[] = [];
  const sectionTokens: number[] = [];
  for (const section of sections) {
    const first = atoms.length;
    splitRange(text, section.start, section.end, 0, maxTokens, atoms);
    let tokens = 0;
    for (let index = first; index < atoms.length; index++) {
      const atom = atomAt(atoms, index);
      atom.headingOnly = section.headingOnly;
      tokens += atom.tokens;
    }
    firstAtoms.push(first);
    sectionTokens.push(tokens);
  }
  let following = 0;
  for (let position = sections.length - 1; position >= 0; position--) {
    const section = sections[position];
    const atom = atoms[firstAtoms[position] ?? -1];
    if (section === undefined || atom === undefined) continue;
    const lookahead = (sectionTokens[position] ?? 0) + (section.headingOnly ? following : 0);
    if (section.atHeading) atom.lookahead = lookahead;
    following = section.atHeading ? lookahead : 0;
  }
  return atoms;
}

function splitRange(
  text: string,
  start: number,
  end: number,
  level: number,
  maxTokens: number,
  atoms: Atom[],
): void {
  const tokens = countTokens(text.slice(start, end));
  if (tokens <= maxTokens) {
    atoms.push({ start, end, tokens, lookahead: undefined, headingOnly: false });
    return;
  }
  for (let finer = level; finer < STRUCTURAL_LEVELS.length; finer++) {
    const cuts = STRUCTURAL_LEVELS[finer]?.(text, start, end) ?? [];
    if (cuts.length === 0) continue;
    let from = start;
    for (const cut of [...cuts, end]) {
      splitRange(text, from, cut, finer + 1, maxTokens, atoms);
      from = cut;
    }
    return;
  }
  atoms.push(...hardSplit(text, start, end, maxTokens));
}

/** Cuts an unbroken run by tokens, at code-point (preferably grapheme) boundaries. */
function hardSplit(text: string, start: number, end: number, maxTokens: number): Atom[] {
  const atoms: Atom[] = [];
  let from = start;
  while (from < end) {
    // Grow a window until it holds more than maxTokens, so each step costs about one chunk.
    let cut = end;
    for (let size = maxTokens * 4; ; size *= 2) {
      const windowEnd = Math.min(end, from + size);
      const offset = charOffsetAfterTokens(text.slice(from, windowEnd), maxTokens);
      if (offset < windowEnd - from || windowEnd === end) {
        cut = from + offset;
        break;
      }
    }
    if (cut < end) cut = snapCutToCluster(text, from, cut);
    if (cut <= from) cut = nextCodePoint(text, from);
    let tokens = countTokens(text.slice(from, cut));
    while (tokens > maxTokens) {
      // A cut inside a pre-token re-tokenizes differently; shed the excess and re-count.
      const slice = text.slice(from, cut);
      const shorter = from + charOffsetAfterTokens(slice, Math.max(1, 2 * maxTokens - tokens));
      const floor = nextCodePoint(text, from);
      cut =
        shorter >= floor && shorter < cut ? shorter : Math.max(floor, previousCodePoint(text, cut));
      tokens = countTokens(text.slice(from, cut));
    }
    atoms.push({ start: from, end: cut, tokens, lookahead: undefined, headingOnly: false });
    from = cut;
  }
  return atoms;
}

/**
 * Hard-splits an atom whose trimmed text alone tokenizes past the limit (its untrimmed count
 * fitted), keeping its whitespace and flags so atoms still tile the text.
 */
function resplit(text: string, atom: Atom, trimmed: [number, number], maxTokens: number): Atom[] {
  const pieces = hardSplit(text, trimmed[0], trimmed[1], maxTokens);
  const head = pieces[0];
  const tail = pieces.at(-1);
  if (head === undefined || tail === undefined) return [atom];
  head.start = atom.start;
  head.lookahead = atom.lookahead;
  tail.end = atom.end;
  for (const piece of pieces) piece.headingOnly = atom.headingOnly;
  return pieces;
}

/**
 * The tail of [start, end) to repeat at the start of the next chunk: at most `budget` tokens,
 * beginning at a sentence start when that keeps at least half the budget, else at a word start.
 */
function takeOverlap(text: string, span: Carry, budget: number): Carry | undefined {
  if (budget <= 0) return undefined;
  const { start, end } = span;
  const target = Math.max(
    start + 1,
    start + charOffsetAfterTokens(text.slice(start, end), span.tokens - budget),
  );
  let from = nextSentenceStart(text, target, end);
  let tokens = from === -1 ? 0 : countTokens(text.slice(from, end));
  if (from === -1 || tokens > budget || tokens < budget / 2) {
    from = nextWordStart(text, target, end);
    if (from === -1) from = isCodePointBoundary(text, target) ? target : target + 1;
    tokens = countTokens(text.slice(from, end));
  }
  while (tokens > budget && from < end) {
    const word = nextWordStart(text, from + 1, end);
    const skip = from + charOffsetAfterTokens(text.slice(from, end), tokens - budget);
    from = word !== -1 ? word : Math.max(skip, nextCodePoint(text, from));
    tokens = countTokens(text.slice(from, end));
  }
  // Every candidate above is a non-whitespace position, so the carry needs no trimming.
  return from < end ? { start: from, end, tokens } : undefined;
}
