import type { EmbedderRegistry } from "./embed/embedder-registry.ts";
import type { EmbeddingConfig } from "./embed/embedding-model.ts";
import { AppError } from "./errors.ts";
import { chunkingOptionsSchema, DEFAULT_CHUNKING } from "./ingest/chunker.ts";
import type { NewCollection } from "./store/store.ts";

export const DEFAULT_COLLECTION = "default";

export interface CollectionInput {
  name: string;
  description?: string | undefined;
  embedding?:
    | {
        provider: "local" | "openai";
        model?: string | undefined;
        dimensions?: number | undefined;
      }
    | undefined;
  chunking?: { maxTokens?: number | undefined; overlapTokens?: number | undefined } | undefined;
}

/** A collection request with every default filled in and checked against what the server can do. */
export function resolveCollectionSettings(
  input: CollectionInput,
  embedders: EmbedderRegistry,
): NewCollection {
  const base = embedders.defaultConfig(input.embedding?.provider);
  const embedding: EmbeddingConfig = {
    provider: base.provider,
    model: input.embedding?.model ?? base.model,
    dimensions: input.embedding?.dimensions ?? base.dimensions,
  };
  embedders.validate(embedding);
  const maxTokens = input.chunking?.maxTokens ?? DEFAULT_CHUNKING.maxTokens;
  const overlapTokens =
    input.chunking?.overlapTokens ??
    Math.min(DEFAULT_CHUNKING.overlapTokens, Math.floor(maxTokens / 4));
  if (!chunkingOptionsSchema.safeParse({ maxTokens, overlapTokens }).success) {
    throw new AppError(
      "invalid_request",
      `chunking: max_tokens must be 16 to 8191 and overlap_tokens (${overlapTokens}) at most half of max_tokens (${maxTokens}).`,
      { param: "chunking.overlap_tokens" },
    );
  }
  return {
    name: input.name,
    description: input.description ?? "",
    embedding,
    chunking: { maxTokens, overlapTokens },
  };
}
