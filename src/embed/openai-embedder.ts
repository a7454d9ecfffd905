import OpenAI from "openai";
import { AppError } from "../errors.ts";
import type {
  EmbeddingConfig,
  EmbeddingModel,
  EmbedRequest,
  EmbedResult,
} from "./embedding-model.ts";

/** The largest `dimensions` each OpenAI embedding model accepts. */
export const OPENAI_EMBEDDING_MAX_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
};

export interface OpenAIEmbedderOptions {
  client: OpenAI;
  model: string;
  dimensions: number;
  maxConcurrentCalls?: number;
}

/** Embeddings from the OpenAI API (or any compatible endpoint) through the official SDK. */
export class OpenAIEmbeddingModel implements EmbeddingModel {
  readonly config: EmbeddingConfig;
  readonly maxEmbeddingsPerCall = 2048;
  readonly maxTokensPerCall = 300_000;
  readonly maxTokensPerValue = 8191;
  readonly maxConcurrentCalls: number;
  private readonly client: OpenAI;

  constructor(options: OpenAIEmbedderOptions) {
    this.client = options.client;
    this.config = { provider: "openai", model: options.model, dimensions: options.dimensions };
    this.maxConcurrentCalls = options.maxConcurrentCalls ?? 4;
  }

  async doEmbed(request: EmbedRequest): Promise<EmbedResult> {
    try {
      const response = await this.client.embeddings.create(
        { model: this.config.model, input: request.values, dimensions: this.config.dimensions },
        request.signal ? { signal: request.signal } : undefined,
      );
      const embeddings = new Array<Float32Array>(request.values.length);
      for (const item of response.data) embeddings[item.index] = Float32Array.from(item.embedding);
      if (
        embeddings.some(
          (vector) => vector === undefined || vector.length !== this.config.dimensions,
        )
      ) {
        throw new AppError(
          "upstream_error",
          `The embedding provider returned an unexpected answer (missing vectors or not ${this.config.dimensions} dimensions).`,
        );
      }
      return { embeddings, usage: { tokens: response.usage?.prompt_tokens ?? 0 } };
    } catch (error) {
      throw toUpstreamError(error);
    }
  }
}

/** An SDK failure (after its own retries) as the service's upstream_error. */
export function toUpstreamError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof OpenAI.APIUserAbortError) {
    return new AppError("upstream_error", "The request to the embedding provider was cancelled.", {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError("upstream_error", "The embedding provider did not answer in time.", {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIError) {
    const retryAfter = Number(error.headers?.get?.("retry-after"));
    return new AppError(
      "upstream_error",
      `The embedding provider failed${error.status ? ` with status ${error.status}` : ""}: ${error.message}`,
      { cause: error, ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}) },
    );
  }
  return new AppError("upstream_error", "The embedding provider could not be reached.", {
    cause: error,
  });
}
