/** Whether a text is embedded to be stored or to query with (local models weight them differently). */
export type EmbeddingPurpose = "document" | "query";

export interface EmbeddingConfig {
  provider: "local" | "openai";
  model: string;
  dimensions: number;
}

export interface EmbedRequest {
  values: string[];
  purpose: EmbeddingPurpose;
  signal?: AbortSignal;
  /** Tokens of all values together, when the caller already counted them (rate budgets use it). */
  tokenCount?: number;
}

export interface EmbedResult {
  /** One L2-normalised vector per value, in order. */
  embeddings: Float32Array[];
  usage: { tokens: number };
}

/**
 * A provider of embeddings. Implementations only embed one call's worth of values;
 * batching, concurrency and caching are written once above them (embed-many).
 */
export interface EmbeddingModel {
  readonly config: EmbeddingConfig;
  /** Most values one doEmbed call accepts. */
  readonly maxEmbeddingsPerCall: number;
  /** Most tokens (summed over values) one doEmbed call accepts. */
  readonly maxTokensPerCall: number;
  /** Most tokens one value may have. */
  readonly maxTokensPerValue: number;
  /** How many doEmbed calls may run at once. */
  readonly maxConcurrentCalls: number;
  doEmbed(request: EmbedRequest): Promise<EmbedResult>;
}
