import { getEncoding, type Tiktoken } from "js-tiktoken";

// Loading cl100k's ranks costs ~0.8 s, so it happens once per process, on first use.
let encoding: Tiktoken | undefined;

function cl100k(): Tiktoken {
  encoding ??= getEncoding("cl100k_base");
  return encoding;
}

/** Number of cl100k tokens in `text` (what OpenAI bills embeddings and prompts by). */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : cl100k().encode(text).length;
}

/** cl100k token ids of `text`. */
export function encodeTokens(text: string): number[] {
  return cl100k().encode(text);
}

/** Text for cl100k token ids; ids outside the vocabulary are dropped. */
export function decodeTokens(tokens: readonly number[]): string {
  const known = tokens.filter((token) => Number.isInteger(token) && token >= 0 && token < 100_256);
  return cl100k().decode(known);
}

/** Warms the tokenizer so the first request does not pay for loading it. */
export function warmTokenizer(): void {
  cl100k();
}
