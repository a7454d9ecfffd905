import { encode as encodeTokens } from "gpt-tokenizer/encoding/cl100k_base";

// Special-token strings such as "<|endoftext|>" inside a document are text, not control tokens.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** cl100k_base token ids (the text-embedding-3 tokenizer) of a text. */
export function encode(text: string): number[] {
  return encodeTokens(text, AS_PLAIN_TEXT);
}

/** How many cl100k_base tokens a text has. */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : encode(text).length;
}

/**
 * The end of the longest prefix of `text` that has at most `tokens` tokens, found by binary
 * search over code-point boundaries (so it never splits a surrogate pair). Counting prefixes
 * avoids decoding partial tokens, which cannot map cleanly back to characters.
 */
export function charOffsetAfterTokens(text: string, tokens: number): number {
  if (tokens <= 0) return 0;
  if (countTokens(text) <= tokens) return text.length;
  let low = 0; // a prefix end known to fit
  let high = text.length; // a prefix end known not to fit
  while (high - low > 1) {
    let middle = (low + high) >> 1;
    if (isLowSurrogate(text.charCodeAt(middle))) middle -= 1;
    if (middle <= low) middle = low + 1 + (isLowSurrogate(text.charCodeAt(low + 1)) ? 1 : 0);
    if (middle >= high) break;
    if (countTokens(text.slice(0, middle)) <= tokens) low = middle;
    else high = middle;
  }
  return low;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
