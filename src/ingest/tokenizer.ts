import { encode as encodeTokens } from "gpt-tokenizer/encoding/cl100k_base";
import { CL100K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";

// Special-token strings such as "<|endoftext|>" inside a document are text, not control tokens.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** cl100k_base token ids (the text-embedding-3 tokenizer) of a text. */
export function encode(text: string): number[] {
  return encodeTokens(text, AS_PLAIN_TEXT);
}

/*
 * cl100k splits text into pre-tokens with one regular expression and byte-pair-encodes each on
 * its own, so a text's count is the sum of its pre-tokens' counts, and a pre-token matched on
 * its own is matched whole again. The chunker counts overlapping slices of the same text many
 * times; remembering each pre-token's count turns every count after the first into a regex scan.
 */
const PRE_TOKEN = new RegExp(CL100K_TOKEN_SPLIT_REGEX.source, CL100K_TOKEN_SPLIT_REGEX.flags);
const MAX_CACHED_PIECE = 64;
const MAX_CACHED_PIECES = 200_000;
const pieceCounts = new Map<string, number>();

function pieceTokens(piece: string): number {
  // every single ASCII character is one token of its own
  if (piece.length === 1 && piece.charCodeAt(0) < 0x80) return 1;
  let count = pieceCounts.get(piece);
  if (count === undefined) {
    count = encodeTokens(piece, AS_PLAIN_TEXT).length;
    if (piece.length <= MAX_CACHED_PIECE) {
      if (pieceCounts.size >= MAX_CACHED_PIECES) pieceCounts.clear();
      pieceCounts.set(piece, count);
    }
  }
  return count;
}

/** How many cl100k_base tokens a text has. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  let total = 0;
  PRE_TOKEN.lastIndex = 0;
  for (let match = PRE_TOKEN.exec(text); match !== null; match = PRE_TOKEN.exec(text)) {
    total += pieceTokens(match[0]);
  }
  return total;
}

/**
 * The end of the longest prefix of `text` that has at most `tokens` tokens, found by binary
 * search over code-point boundaries (so it never splits a surrogate pair). Counting prefixes
 * avoids decoding partial tokens, which cannot map cleanly back to characters.
 */
export function charOffsetAfterTokens(text: string, tokens: number): number {
  if (tokens <= 0) return 0;
  const prefixes = new PrefixCounter(text);
  if (prefixes.total <= tokens) return text.length;
  let low = 0; // a prefix end known to fit
  let high = text.length; // a prefix end known not to fit
  while (high - low > 1) {
    let middle = (low + high) >> 1;
    if (isLowSurrogate(text.charCodeAt(middle))) middle -= 1;
    if (middle <= low) middle = low + 1 + (isLowSurrogate(text.charCodeAt(low + 1)) ? 1 : 0);
    if (middle >= high) break;
    if (prefixes.count(middle) <= tokens) low = middle;
    else high = middle;
  }
  return low;
}

/**
 * Exact token counts of a text's prefixes from one scan of its pre-tokens. A prefix is
 * pre-tokenized like the whole text except near its end, so only its last few pre-tokens are
 * matched again (see `resyncStart`).
 */
export class PrefixCounter {
  readonly total: number;
  /** Where each pre-token of the whole text starts, ascending. */
  private readonly starts: number[] = [];
  /** Tokens before each pre-token. */
  private readonly before: number[] = [];

  constructor(private readonly text: string) {
    let total = 0;
    PRE_TOKEN.lastIndex = 0;
    for (let match = PRE_TOKEN.exec(text); match !== null; match = PRE_TOKEN.exec(text)) {
      this.starts.push(match.index);
      this.before.push(total);
      total += pieceTokens(match[0]);
    }
    this.total = total;
  }

  /** Tokens of `text.slice(0, end)`. */
  count(end: number): number {
    if (end >= this.text.length) return this.total;
    const resync = resyncStart(this.text, end);
    // the last pre-token starting at or before `resync` is shared with the whole text
    let low = 0;
    let high = this.starts.length - 1;
    if (high < 0 || (this.starts[0] as number) > resync)
      return countTokens(this.text.slice(0, end));
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as number) <= resync) low = middle;
      else high = middle - 1;
    }
    const start = this.starts[low] as number;
    return (this.before[low] as number) + countTokens(this.text.slice(start, end));
  }
}

const LETTER = 1;
const NUMBER = 2;
const SPACE = 4;
const OTHER = 8;
const LETTER_CHAR = /\p{L}/u;
const NUMBER_CHAR = /\p{N}/u;
const SPACE_CHAR = /\s/u;
const MAX_RESYNC_WALK = 64;

/**
 * A position r <= end such that no pre-token match starting before r can reach `end`, so the
 * pre-tokens of `text.slice(0, end)` that start before r are those of the whole text. Every
 * alternative of the cl100k pattern is one optional first character followed by a run of one
 * kind: letters, up to two more digits, punctuation then line breaks, or whitespace. Walking
 * back from `end`, r is where [r, end) can no longer be such a run; 0 when none is found nearby.
 */
function resyncStart(text: string, end: number): number {
  let kinds = 0;
  let length = 0;
  let lineBreaksOnly = true;
  let spaceBeforeOther = false;
  let index = end;
  while (index > 0 && length < MAX_RESYNC_WALK) {
    let from = index - 1;
    if (
      isLowSurrogate(text.charCodeAt(from)) &&
      from > 0 &&
      isHighSurrogate(text.charCodeAt(from - 1))
    )
      from -= 1;
    const char = text.slice(from, index);
    const kind = LETTER_CHAR.test(char)
      ? LETTER
      : NUMBER_CHAR.test(char)
        ? NUMBER
        : SPACE_CHAR.test(char)
          ? SPACE
          : OTHER;
    if (kind === SPACE) {
      if (char !== "\n" && char !== "\r") lineBreaksOnly = false;
      if (kinds & OTHER) spaceBeforeOther = true;
    }
    kinds |= kind;
    length++;
    index = from;
    const mixed = (kinds & (kinds - 1)) !== 0;
    if (
      (mixed && kinds & (LETTER | NUMBER)) ||
      (kinds === NUMBER && length >= 3) ||
      (mixed && (!lineBreaksOnly || spaceBeforeOther))
    )
      return index;
  }
  return 0;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
