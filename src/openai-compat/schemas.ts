/*
 * Request bodies of the OpenAI-compatible surface, as ../shared/openai-openapi/openapi.json
 * defines them (CreateVectorStoreRequest, CreateVectorStoreFileRequest, ...). Unknown members
 * are refused, as OpenAI refuses them.
 */
import { z } from "zod";
import { parseMetadataFilter } from "../store/filter-expression.ts";

const ATTRIBUTE_KEY = z.string().min(1).max(64);

/** VectorStoreFileAttributes: at most 16 keys; strings up to 512 characters, numbers, booleans. */
export const AttributesSchema = z
  .record(
    ATTRIBUTE_KEY,
    z.union([z.string().max(512), z.number().refine(Number.isFinite), z.boolean()]),
  )
  .refine((value) => Object.keys(value).length <= 16, { message: "at most 16 attributes." })
  .nullable();

export type Attributes = Record<string, string | number | boolean>;

/** OpenAI's Metadata: up to 16 string values. */
export const MetadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((value) => Object.keys(value).length <= 16, { message: "at most 16 metadata keys." })
  .nullable();

export const ChunkingStrategySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auto") }).strict(),
  z
    .object({
      type: z.literal("static"),
      static: z
        .object({
          max_chunk_size_tokens: z.number().int().min(100).max(4096),
          chunk_overlap_tokens: z.number().int().min(0),
        })
        .strict()
        .refine((value) => value.chunk_overlap_tokens <= value.max_chunk_size_tokens / 2, {
          message: "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens.",
          path: ["chunk_overlap_tokens"],
        }),
    })
    .strict(),
]);

export type ChunkingStrategy = z.infer<typeof ChunkingStrategySchema>;

export const ExpiresAfterSchema = z
  .object({ anchor: z.literal("last_active_at"), days: z.number().int().min(1).max(365) })
  .strict();

export const CreateVectorStoreSchema = z
  .object({
    name: z.string().max(256).optional(),
    file_ids: z.array(z.string().min(1)).max(500).optional(),
    expires_after: ExpiresAfterSchema.optional(),
    chunking_strategy: ChunkingStrategySchema.optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict();

export const UpdateVectorStoreSchema = z
  .object({
    name: z.string().max(256).nullable().optional(),
    expires_after: ExpiresAfterSchema.nullable().optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict();

export const CreateVectorStoreFileSchema = z
  .object({
    file_id: z.string().min(1),
    attributes: AttributesSchema.optional(),
    chunking_strategy: ChunkingStrategySchema.optional(),
  })
  .strict();

export const UpdateVectorStoreFileSchema = z.object({ attributes: AttributesSchema }).strict();

export const CreateFileBatchSchema = z
  .object({
    file_ids: z.array(z.string().min(1)).min(1).max(2000).optional(),
    files: z.array(CreateVectorStoreFileSchema).min(1).max(2000).optional(),
    attributes: AttributesSchema.optional(),
    chunking_strategy: ChunkingStrategySchema.optional(),
  })
  .strict()
  .refine((value) => (value.file_ids === undefined) !== (value.files === undefined), {
    message: "send file_ids or files (one of them).",
    path: ["file_ids"],
  });

/** A filter in OpenAI's spelling (or Gleaner's native one), checked with a precise message. */
export const FiltersSchema = z.unknown().transform((value, context) => {
  try {
    return parseMetadataFilter(value, "filters");
  } catch (error) {
    context.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

export const RankingOptionsSchema = z
  .object({
    ranker: z.enum(["none", "auto", "default-2024-11-15"]).optional(),
    score_threshold: z.number().min(0).max(1).optional(),
    hybrid_search: z.object({ embedding_weight: z.number(), text_weight: z.number() }).optional(),
  })
  .strict();

export const VectorStoreSearchSchema = z
  .object({
    query: z.union([
      z.string().trim().min(1).max(4000),
      z.array(z.string().trim().min(1).max(4000)).min(1).max(8),
    ]),
    rewrite_query: z.boolean().optional(),
    max_num_results: z.number().int().min(1).max(50).default(10),
    filters: FiltersSchema.optional(),
    ranking_options: RankingOptionsSchema.optional(),
  })
  .strict();

export const FileSearchToolSchema = z.object({
  type: z.literal("file_search"),
  vector_store_ids: z.array(z.string().min(1)).min(1).max(8),
  max_num_results: z.number().int().min(1).max(50).optional(),
  filters: FiltersSchema.nullable().optional(),
  ranking_options: RankingOptionsSchema.optional(),
});

const InputContentSchema = z
  .object({ type: z.string(), text: z.string().optional() })
  .passthrough();

const InputMessageSchema = z
  .object({
    type: z.literal("message").optional(),
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(InputContentSchema)]),
  })
  .passthrough();

/**
 * The part of CreateResponse this surface acts on. Other CreateResponse members (temperature,
 * metadata, store, ...) are accepted and echoed where the Response object has them.
 */
export const CreateResponseSchema = z
  .object({
    model: z.string().min(1).max(200),
    input: z.union([z.string().min(1), z.array(InputMessageSchema).min(1)]),
    instructions: z.string().nullable().optional(),
    tools: z.array(z.object({ type: z.string() }).passthrough()).optional(),
    include: z.array(z.string()).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    reasoning: z
      .object({ effort: z.enum(["minimal", "low", "medium", "high"]).nullable().optional() })
      .passthrough()
      .nullable()
      .optional(),
    text: z
      .object({ verbosity: z.enum(["low", "medium", "high"]).nullable().optional() })
      .passthrough()
      .optional(),
    metadata: MetadataSchema.optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    store: z.boolean().nullable().optional(),
    tool_choice: z.unknown().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    max_output_tokens: z.number().int().nullable().optional(),
    user: z.string().optional(),
  })
  .strict();

export type CreateResponseBody = z.infer<typeof CreateResponseSchema>;
