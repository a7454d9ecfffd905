/*
 * OpenAI list prices in US dollars per 1M tokens, the one place they live. Embedding prices are
 * for the synchronous API; the Batch API bills half (BATCH_DISCOUNT). Update when OpenAI's
 * pricing page changes; an unknown model has no price (null), never a guessed one.
 */

export interface ResponsePrice {
  /** Dollars per 1M input tokens. */
  input: number;
  /** Dollars per 1M output tokens (reasoning tokens bill as output). */
  output: number;
}

export const PRICES: {
  /** Dollars per 1M input tokens, by embedding model. */
  embeddings: Readonly<Record<string, number>>;
  /** Dollars per 1M input and output tokens, by Responses API model. */
  responses: Readonly<Record<string, ResponsePrice>>;
} = {
  embeddings: {
    "text-embedding-3-small": 0.02,
    "text-embedding-3-large": 0.13,
  },
  responses: {
    "gpt-5": { input: 1.25, output: 10 },
    "gpt-5-mini": { input: 0.25, output: 2 },
    "gpt-5-nano": { input: 0.05, output: 0.4 },
    "gpt-4o": { input: 2.5, output: 10 },
    "gpt-4o-mini": { input: 0.15, output: 0.6 },
  },
};

/** The Batch API's price as a fraction of the synchronous one. */
export const BATCH_DISCOUNT = 0.5;

const PER_MILLION = 1_000_000;

/** Dollars for embedding `tokens` with `model` (half price through the Batch API); null when unpriced. */
export function embeddingCostUsd(
  model: string,
  tokens: number,
  options: { batch?: boolean } = {},
): number | null {
  const price = PRICES.embeddings[model];
  if (price === undefined) return null;
  return (tokens * price * (options.batch ? BATCH_DISCOUNT : 1)) / PER_MILLION;
}

/**
 * Dollars for a Responses API call's tokens (output including reasoning tokens); null when the
 * model is unpriced. Dated snapshots ("gpt-5-mini-2025-08-07") price as their base model.
 */
export function responseCostUsd(
  model: string,
  tokens: { inputTokens: number; outputTokens: number },
): number | null {
  const price =
    PRICES.responses[model] ?? PRICES.responses[model.replace(/-\d{4}-\d{2}-\d{2}$/, "")];
  if (price === undefined) return null;
  return (tokens.inputTokens * price.input + tokens.outputTokens * price.output) / PER_MILLION;
}
