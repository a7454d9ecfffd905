/*
 * Where text may be cut, coarse to fine. All boundaries fall at the end of a whitespace run (or
 * after CJK sentence punctuation), so a piece starts with its content and carries its trailing
 * whitespace. Regular expressions, not Intl.Segmenter: V8's segmenter iterates in quadratic
 * time (a 90 kB string takes ~0.1 s for sentences, 45 kB ~0.5 s for words, 1 MB minutes).
 */

/** Finds cut positions strictly inside [start, end), ascending. */
export type BoundaryFinder = (text: string, start: number, end: number) => number[];

const PARAGRAPH_BREAK = /(?:\n[^\S\n]*\n|\f)\s*/g;
const LINE_BREAK = /[\n\r\u2028\u2029]\s*/g;
const SENTENCE_END = /[.!?…]+["'”’»)\]]*\s+|[。！？｡]+["'”’」』）)]*\s*/g;
const WHITESPACE_RUN = /\s+/g;
const SENTENCE_START =
  /(?:[.!?…]+["'”’»)\]]*\s+|[。！？｡]+["'”’」』）)]*\s*|[\n\r\u2028\u2029]\s*)(?=\S)/g;

function boundariesAfter(pattern: RegExp): BoundaryFinder {
  return (text, start, end) => {
    const slice = text.slice(start, end);
    const cuts: number[] = [];
    pattern.lastIndex = 0;
    for (let match = pattern.exec(slice); match !== null; match = pattern.exec(slice)) {
      const cut = match.index + match[0].length;
      if (cut > 0 && cut < slice.length) cuts.push(start + cut);
    }
    return cuts;
  };
}

/** Paragraphs, lines, sentences, words: the structural levels tried before a hard token cut. */
export const STRUCTURAL_LEVELS: readonly BoundaryFinder[] = [
  boundariesAfter(PARAGRAPH_BREAK),
  boundariesAfter(LINE_BREAK),
  boundariesAfter(SENTENCE_END),
  boundariesAfter(WHITESPACE_RUN),
];

/** Whether a UTF-16 code unit is whitespace as JavaScript's `\s` and `trim()` define it. */
export function isWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** [start, end) with surrounding whitespace excluded; empty (start === end) when all whitespace. */
export function trimRange(text: string, start: number, end: number): [number, number] {
  let from = start;
  let to = end;
  while (from < to && isWhitespace(text.charCodeAt(from))) from++;
  while (to > from && isWhitespace(text.charCodeAt(to - 1))) to--;
  return [from, to];
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Whether `index` does not split a surrogate pair. */
export function isCodePointBoundary(text: string, index: number): boolean {
  return !(isLowSurrogate(text.charCodeAt(index)) && isHighSurrogate(text.charCodeAt(index - 1)));
}

/** The index of the next code point after `index` (or `index + 1` past the end). */
export function nextCodePoint(text: string, index: number): number {
  return isHighSurrogate(text.charCodeAt(index)) && isLowSurrogate(text.charCodeAt(index + 1))
    ? index + 2
    : index + 1;
}

/** The index of the code point before `index`. */
export function previousCodePoint(text: string, index: number): number {
  return isLowSurrogate(text.charCodeAt(index - 1)) && isHighSurrogate(text.charCodeAt(index - 2))
    ? index - 2
    : index - 1;
}

// Code points that continue a grapheme cluster: marks, ZWJ, variation selectors, skin tones, tags.
const CLUSTER_CONTINUATION =
  /^(?:\p{M}|\u200d|[\ufe00-\ufe0f]|[\u{1f3fb}-\u{1f3ff}]|[\u{e0020}-\u{e007f}])/u;
const MAX_CLUSTER_BACKTRACK = 32;

/**
 * Moves a hard cut back out of a grapheme cluster (e + combining accent, ZWJ emoji) when one
 * starts after `floor`; a cluster longer than that (zalgo text) is cut at a code point instead.
 */
export function snapCutToCluster(text: string, floor: number, cut: number): number {
  let index = cut;
  for (let step = 0; step < MAX_CLUSTER_BACKTRACK && index > floor; step++) {
    const continues =
      CLUSTER_CONTINUATION.test(text.slice(index, index + 2)) ||
      text.charCodeAt(index - 1) === 0x200d;
    if (!continues) return index;
    index = previousCodePoint(text, index);
  }
  return cut;
}

/** The first word start (non-whitespace at the text start or after whitespace) in [position, end), or -1. */
export function nextWordStart(text: string, position: number, end: number): number {
  for (let index = position; index < end; index++) {
    if (isWhitespace(text.charCodeAt(index))) continue;
    if (index === 0 || isWhitespace(text.charCodeAt(index - 1))) return index;
  }
  return -1;
}

/** The first sentence or line start in [position, end), or -1. */
export function nextSentenceStart(text: string, position: number, end: number): number {
  // Look back a little so a terminator just before `position` still counts.
  const from = Math.max(0, position - 16);
  const slice = text.slice(from, end);
  SENTENCE_START.lastIndex = 0;
  for (let match = SENTENCE_START.exec(slice); match !== null; match = SENTENCE_START.exec(slice)) {
    const start = from + match.index + match[0].length;
    if (start >= position && start < end) return start;
  }
  return -1;
}
