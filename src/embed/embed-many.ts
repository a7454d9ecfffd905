import { createHash } from "node:crypto";
import { countTokens } from "../ingest/tokenizer.ts";
import type { EmbeddingCacheKey } from "../store/store.ts";
import type { EmbeddingModel, EmbeddingPurpose } from "./embedding-model.ts";

/** Where computed document embeddings are remembered, keyed by model and text hash. */
export interface EmbeddingCache {
  get(key: EmbeddingCacheKey, textHashes: string[]): Promise<Map<string, Float32Array>>;
  put(key: EmbeddingCacheKey, entries: { textHash: string; vector: Float32Array }[]): Promise<void>;
}

export interface EmbedManyRequest {
  model: EmbeddingModel;
  values: string[];
  /** Token counts of the values when already known (saves counting them again). */
  tokenCounts?: number[] | undefined;
  purpose: EmbeddingPurpose;
  cache?: EmbeddingCache | undefined;
  signal?: AbortSignal | undefined;
  /** Called after each provider call with how many values are done. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface EmbedManyResult {
  embeddings: Float32Array[];
  /** Tokens the provider billed (cache hits cost nothing). */
  tokens: number;
  cacheHits: number;
  providerCalls: number;
}

/** SHA-256 of a text, the key of the embedding cache. */
export function textSha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Embeds any number of values: identical texts once, cached ones never, the rest packed into
 * calls within the model's per-call limits and run with its concurrency limit.
 */
export async function embedMany(request: EmbedManyRequest): Promise<EmbedManyResult> {
  const { model, values, purpose } = request;
  const hashes = values.map(textSha256);
  const uniqueHashes = [...new Set(hashes)];
  const pending = new Map<string, PackedValue>();
  hashes.forEach((hash, i) => {
    pending.set(hash, { hash, text: values[i] as string, tokens: request.tokenCounts?.[i] });
  });

  const key: EmbeddingCacheKey = { ...model.config };
  const known =
    request.cache && purpose === "document"
      ? await request.cache.get(key, uniqueHashes)
      : new Map<string, Float32Array>();
  const cacheHits = hashes.filter((hash) => known.has(hash)).length;
  const missing = uniqueHashes.filter((hash) => !known.has(hash));

  const batches = packBatches(
    missing.map((hash) => pending.get(hash) as PackedValue),
    model,
  );
  let tokens = 0;
  let done = values.length - missing.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++] as PackedValue[];
      request.signal?.throwIfAborted();
      const result = await model.doEmbed({
        values: batch.map((item) => item.text),
        purpose,
        tokenCount: batch.reduce((sum, item) => sum + (item.tokens ?? 0), 0),
        ...(request.signal ? { signal: request.signal } : {}),
      });
      tokens += result.usage.tokens;
      const entries = batch.map((item, i) => ({
        textHash: item.hash,
        vector: result.embeddings[i] as Float32Array,
      }));
      for (const entry of entries) known.set(entry.textHash, entry.vector);
      if (request.cache && purpose === "document") await request.cache.put(key, entries);
      done += batch.length;
      request.onProgress?.(Math.min(done, values.length), values.length);
    }
  };
  const workers = Math.max(1, Math.min(model.maxConcurrentCalls, batches.length));
  await Promise.all(Array.from({ length: workers }, worker));

  return {
    embeddings: hashes.map((hash) => known.get(hash) as Float32Array),
    tokens,
    cacheHits,
    providerCalls: batches.length,
  };
}

interface PackedValue {
  hash: string;
  text: string;
  tokens?: number | undefined;
}

/** Splits values into calls that respect both the value-count and the token limit of a call. */
export function packBatches(
  items: PackedValue[],
  limits: Pick<EmbeddingModel, "maxEmbeddingsPerCall" | "maxTokensPerCall" | "maxTokensPerValue">,
): PackedValue[][] {
  const batches: PackedValue[][] = [];
  let current: PackedValue[] = [];
  let currentTokens = 0;
  for (const item of items) {
    const tokens = item.tokens ?? countTokens(item.text);
    item.tokens = tokens;
    if (tokens > limits.maxTokensPerValue) {
      throw new RangeError(
        `A text of ${tokens} tokens exceeds the embedding model's limit of ${limits.maxTokensPerValue}.`,
      );
    }
    if (
      current.length > 0 &&
      (current.length >= limits.maxEmbeddingsPerCall ||
        currentTokens + tokens > limits.maxTokensPerCall)
    ) {
      batches.push(current);
      current = [];
      currentTokens = 0;
    }
    current.push(item);
    currentTokens += tokens;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
