import OpenAI from "openai";
import { AppError } from "../errors.ts";
import { countTokens } from "../ingest/tokenizer.ts";
import type {
  EmbeddingConfig,
  EmbeddingModel,
  EmbedRequest,
  EmbedResult,
} from "./embedding-model.ts";
import type { RateBudget } from "./rate-budget.ts";

/** The largest `dimensions` each OpenAI embedding model accepts. */
export const OPENAI_EMBEDDING_MAX_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
};

/** OpenAI's documented limits of one /v1/embeddings request. */
export const OPENAI_EMBEDDING_LIMITS = {
  maxInputs: 2048,
  maxTokensPerRequest: 300_000,
  maxTokensPerInput: 8191,
} as const;

export interface OpenAIEmbedderOptions {
  client: OpenAI;
  model: string;
  dimensions: number;
  maxConcurrentCalls?: number;
  /** Shared tokens/requests-per-minute budget; calls wait for it instead of meeting 429s. */
  budget?: RateBudget | undefined;
  /**
   * Limit on a whole call, retries included. The SDK's `timeout` only covers the wait for
   * response headers, so a reply that stalls mid-body would otherwise hang the ingest.
   */
  deadlineMs?: number | undefined;
}

/**
 * Embeddings from the OpenAI API (or any compatible endpoint) through the official SDK. The SDK
 * retries 408/409/429/5xx itself (honouring retry-after) within the client's `maxRetries` and
 * `timeout`; what still fails becomes `upstream_error`.
 */
export class OpenAIEmbeddingModel implements EmbeddingModel {
  readonly config: EmbeddingConfig;
  readonly maxEmbeddingsPerCall = OPENAI_EMBEDDING_LIMITS.maxInputs;
  readonly maxTokensPerCall = OPENAI_EMBEDDING_LIMITS.maxTokensPerRequest;
  readonly maxTokensPerValue = OPENAI_EMBEDDING_LIMITS.maxTokensPerInput;
  readonly maxConcurrentCalls: number;
  private readonly client: OpenAI;
  private readonly budget: RateBudget | undefined;
  private readonly deadlineMs: number | undefined;

  constructor(options: OpenAIEmbedderOptions) {
    this.client = options.client;
    this.config = { provider: "openai", model: options.model, dimensions: options.dimensions };
    this.maxConcurrentCalls = options.maxConcurrentCalls ?? 4;
    this.budget = options.budget;
    this.deadlineMs = options.deadlineMs;
  }

  /** The request body for some values (also one line's body in a Batch API file). */
  requestBody(values: string[] | string): OpenAI.EmbeddingCreateParams {
    return {
      model: this.config.model,
      input: values,
      // other compatible servers' models (Ollama, vLLM) have one size and may reject the field
      ...(Object.hasOwn(OPENAI_EMBEDDING_MAX_DIMENSIONS, this.config.model)
        ? { dimensions: this.config.dimensions }
        : {}),
    };
  }

  async doEmbed(request: EmbedRequest): Promise<EmbedResult> {
    const tokens =
      request.tokenCount ?? request.values.reduce((sum, value) => sum + countTokens(value), 0);
    let deadline: AbortSignal | undefined;
    try {
      await this.budget?.acquire(tokens, request.signal);
      deadline = this.deadlineMs ? AbortSignal.timeout(this.deadlineMs) : undefined;
      const signals = [request.signal, deadline].filter((signal) => signal !== undefined);
      // the SDK asks for base64 itself (when no encoding_format is given) and decodes it
      const response = await this.client.embeddings.create(
        this.requestBody(request.values),
        signals.length > 0 ? { signal: AbortSignal.any(signals) } : undefined,
      );
      const embeddings = new Array<Float32Array>(request.values.length);
      for (const item of response.data) {
        if (item.index >= 0 && item.index < embeddings.length) {
          embeddings[item.index] = Float32Array.from(item.embedding);
        }
      }
      this.checkVectors(embeddings);
      return { embeddings, usage: { tokens: response.usage?.prompt_tokens ?? tokens } };
    } catch (error) {
      const mapped = deadline?.aborted
        ? new AppError(
            "upstream_error",
            `The embedding provider did not finish answering within ${this.deadlineMs} ms.`,
            { cause: error },
          )
        : toUpstreamError(error);
      if (mapped.retryAfterSeconds !== undefined)
        this.budget?.pause(mapped.retryAfterSeconds * 1000);
      throw mapped;
    }
  }

  /** Throws upstream_error unless every value got a finite vector of the configured size. */
  checkVectors(embeddings: (Float32Array | undefined)[]): asserts embeddings is Float32Array[] {
    for (const vector of embeddings) {
      if (
        vector === undefined ||
        vector.length !== this.config.dimensions ||
        !vector.every(Number.isFinite)
      ) {
        throw new AppError(
          "upstream_error",
          `The embedding provider returned an unexpected answer (missing vectors, or not ${this.config.dimensions} finite numbers each). Check the model and dimensions of the collection.`,
        );
      }
    }
  }
}

/** An SDK failure (after its own retries) as the service's upstream_error. */
export function toUpstreamError(error: unknown, what = "embedding provider"): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof OpenAI.APIUserAbortError) {
    return new AppError("upstream_error", `The request to the ${what} was cancelled.`, {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError(
      "upstream_error",
      `The ${what} did not answer in time (GLEANER_OPENAI_TIMEOUT_MS, after GLEANER_OPENAI_MAX_RETRIES retries).`,
      { cause: error },
    );
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new AppError(
      "upstream_error",
      `The ${what} could not be reached (check OPENAI_BASE_URL and the network).`,
      { cause: error },
    );
  }
  if (error instanceof OpenAI.APIError) {
    const retryAfter = retryAfterSeconds(error.headers);
    return new AppError(
      "upstream_error",
      `The ${what} failed${error.status ? ` with status ${error.status}` : ""}: ${error.message}`,
      { cause: error, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) },
    );
  }
  // the SDK parses a 200 reply with JSON.parse: a truncated or garbled body surfaces as this
  if (error instanceof SyntaxError) {
    return new AppError("upstream_error", `The ${what} sent a reply that is not valid JSON.`, {
      cause: error,
    });
  }
  return new AppError("upstream_error", `The ${what} failed: ${String(error)}`, { cause: error });
}

function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const milliseconds = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds / 1000;
  const seconds = Number(headers?.get("retry-after") ?? Number.NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}
