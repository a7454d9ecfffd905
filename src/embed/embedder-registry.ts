import OpenAI from "openai";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import type { EmbeddingConfig, EmbeddingModel } from "./embedding-model.ts";
import { LocalEmbeddingModel } from "./local-embedder.ts";
import { OPENAI_EMBEDDING_MAX_DIMENSIONS, OpenAIEmbeddingModel } from "./openai-embedder.ts";
import { RateBudget } from "./rate-budget.ts";

/** Builds (and reuses) the embedding model that a collection's configuration names. */
export class EmbedderRegistry {
  private readonly models = new Map<string, EmbeddingModel>();
  private client: OpenAI | null = null;
  /** One budget per OpenAI model: the provider's limits are per model, whatever the dimensions. */
  private readonly budgets = new Map<string, RateBudget>();

  constructor(private readonly config: Pick<Config, "openai" | "localEmbeddingDimensions">) {}

  /** The configuration a new collection gets when it names no embedding (or only a provider). */
  defaultConfig(provider?: "local" | "openai"): EmbeddingConfig {
    const chosen = provider ?? (this.config.openai.apiKey ? "openai" : "local");
    if (chosen === "openai") {
      return {
        provider: "openai",
        model: this.config.openai.embeddingModel,
        dimensions: this.config.openai.embeddingDimensions,
      };
    }
    return {
      provider: "local",
      model: LocalEmbeddingModel.modelName,
      dimensions: this.config.localEmbeddingDimensions,
    };
  }

  /** Checks that a configuration can be served here; throws invalid_request naming the field. */
  validate(embedding: EmbeddingConfig): void {
    if (embedding.provider === "local") {
      if (embedding.model !== LocalEmbeddingModel.modelName) {
        throw new AppError(
          "invalid_request",
          `The local provider has one model, "${LocalEmbeddingModel.modelName}".`,
          { param: "embedding.model" },
        );
      }
      if (embedding.dimensions < 32 || embedding.dimensions > 4096) {
        throw new AppError("invalid_request", "Local embedding dimensions must be 32 to 4096.", {
          param: "embedding.dimensions",
        });
      }
      return;
    }
    if (!this.config.openai.apiKey) {
      throw new AppError(
        "invalid_request",
        "The openai embedding provider needs OPENAI_API_KEY to be set on the server.",
        { param: "embedding.provider" },
      );
    }
    const maximum = OPENAI_EMBEDDING_MAX_DIMENSIONS[embedding.model];
    if (maximum !== undefined && embedding.dimensions > maximum) {
      throw new AppError(
        "invalid_request",
        `${embedding.model} supports at most ${maximum} dimensions.`,
        { param: "embedding.dimensions" },
      );
    }
  }

  /** The model for a configuration, created once. */
  modelFor(embedding: EmbeddingConfig): EmbeddingModel {
    const key = `${embedding.provider}/${embedding.model}/${embedding.dimensions}`;
    let model = this.models.get(key);
    if (!model) {
      model =
        embedding.provider === "local"
          ? new LocalEmbeddingModel({ dimensions: embedding.dimensions })
          : new OpenAIEmbeddingModel({
              client: this.openaiClient(),
              model: embedding.model,
              dimensions: embedding.dimensions,
              maxConcurrentCalls: this.config.openai.embedConcurrency,
              budget: this.budgetFor(embedding.model),
              // every attempt may wait the full timeout; the SDK's back-off adds at most ~8 s each
              deadlineMs:
                (this.config.openai.timeoutMs + 10_000) * (this.config.openai.maxRetries + 1),
            });
      this.models.set(key, model);
    }
    return model;
  }

  /** The OpenAI settings (timeouts, budgets, Batch API polling). */
  get openaiSettings(): Config["openai"] {
    return this.config.openai;
  }

  private budgetFor(model: string): RateBudget {
    let budget = this.budgets.get(model);
    if (!budget) {
      budget = new RateBudget({
        tokensPerMinute: this.config.openai.tokensPerMinute,
        requestsPerMinute: this.config.openai.requestsPerMinute,
      });
      this.budgets.set(model, budget);
    }
    return budget;
  }

  /** The shared SDK client; fails clearly when no key is configured. */
  openaiClient(): OpenAI {
    if (!this.config.openai.apiKey) {
      throw new AppError(
        "upstream_error",
        "This collection embeds with OpenAI, but OPENAI_API_KEY is not set on the server.",
      );
    }
    this.client ??= new OpenAI({
      apiKey: this.config.openai.apiKey,
      baseURL: this.config.openai.baseURL,
      timeout: this.config.openai.timeoutMs,
      maxRetries: this.config.openai.maxRetries,
    });
    return this.client;
  }
}
