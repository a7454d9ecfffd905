import { z } from "@hono/zod-openapi";
import { type MetadataFilter, parseMetadataFilter } from "../store/filter-expression.ts";

export const ErrorSchema = z
  .object({
    error: z.object({
      type: z.string().openapi({ example: "not_found" }),
      message: z.string(),
      param: z.string().nullable(),
      request_id: z.string().optional(),
    }),
  })
  .openapi("Error");

export const COLLECTION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const CollectionNameParam = z.object({
  name: z
    .string()
    .regex(COLLECTION_NAME_PATTERN, "Collection names match ^[a-z0-9][a-z0-9_-]{0,63}$.")
    .openapi({ param: { name: "name", in: "path" }, example: "default" }),
});

const EmbeddingSchema = z
  .object({
    provider: z.enum(["local", "openai"]),
    model: z.string().min(1).max(200),
    dimensions: z.number().int().positive().max(4096),
  })
  .openapi("EmbeddingConfig");

const ChunkingSchema = z
  .object({
    max_tokens: z.number().int().min(16).max(8191),
    overlap_tokens: z.number().int().min(0).max(4095),
  })
  .openapi("ChunkingConfig");

export const CreateCollectionSchema = z
  .object({
    name: z
      .string()
      .regex(COLLECTION_NAME_PATTERN, "Collection names match ^[a-z0-9][a-z0-9_-]{0,63}$."),
    description: z.string().max(2000).optional(),
    embedding: z
      .object({
        provider: z.enum(["local", "openai"]),
        model: z.string().min(1).max(200).optional(),
        dimensions: z.number().int().positive().max(4096).optional(),
      })
      .strict()
      .optional(),
    chunking: z
      .object({
        max_tokens: z.number().int().min(16).max(8191).optional(),
        overlap_tokens: z.number().int().min(0).max(4095).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi("CreateCollection");

export const CollectionSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    embedding: EmbeddingSchema,
    chunking: ChunkingSchema,
    document_count: z.number().int(),
    chunk_count: z.number().int(),
    embedding_tokens: z.number().int(),
    created_at: z.string(),
  })
  .openapi("Collection");

export const CollectionListSchema = z.object({ data: z.array(CollectionSchema) });

const MAX_METADATA_BYTES = 16 * 1024;

// NUL and unpaired surrogates cannot be stored in PostgreSQL text or jsonb; refusing them on
// every backend keeps the two alike.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is refused
const STORABLE_TEXT = /^[^\u0000\p{Cs}]*$/u;
const UNSTORABLE_TEXT_MESSAGE = "must not contain NUL (U+0000) or unpaired surrogate characters.";

function isStorableJson(value: unknown): boolean {
  if (typeof value === "string") return STORABLE_TEXT.test(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).every(
      ([key, item]) => STORABLE_TEXT.test(key) && isStorableJson(item),
    );
  }
  return true;
}

/** A metadata or filter key: any text, but not empty, not over 256 characters, nothing unstorable. */
const MetadataKeySchema = z
  .string()
  .min(1)
  .max(256)
  .regex(STORABLE_TEXT, `Metadata keys ${UNSTORABLE_TEXT_MESSAGE}`);

export const MetadataSchema = z
  .record(MetadataKeySchema, z.unknown())
  .refine((value) => JSON.stringify(value).length <= MAX_METADATA_BYTES, {
    message: `metadata must serialise to at most ${MAX_METADATA_BYTES} bytes of JSON.`,
  })
  .refine(isStorableJson, { message: `metadata values ${UNSTORABLE_TEXT_MESSAGE}` })
  .openapi("Metadata", { type: "object", additionalProperties: true });

export const DocumentIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, "Document ids are 1-256 printable characters.");

export const TextDocumentSchema = z
  .object({
    id: DocumentIdSchema.optional(),
    title: z.string().max(1000).optional(),
    text: z.string().min(1, "text must not be empty."),
    metadata: MetadataSchema.optional(),
  })
  .strict()
  .openapi("TextDocument");

export const MAX_BULK_DOCUMENTS = 1000;

export const DocumentsJsonBodySchema = z
  .union(
    [
      TextDocumentSchema,
      z.object({ documents: z.array(TextDocumentSchema).min(1).max(MAX_BULK_DOCUMENTS) }).strict(),
    ],
    {
      // "Invalid input" says nothing: name the problem of the shape the client meant
      error: (issue) => {
        if (issue.code !== "invalid_union") return undefined;
        const input = issue.input;
        const bulk = typeof input === "object" && input !== null && "documents" in input;
        const first = issue.errors[bulk ? 1 : 0]?.[0];
        if (!first) return undefined;
        return first.path.length > 0 ? `${first.path.join(".")}: ${first.message}` : first.message;
      },
    },
  )
  .openapi("DocumentsUpload");

export const DocumentsMultipartSchema = z
  .object({
    file: z.unknown().openapi({ type: "string", format: "binary" }),
    id: z.string().optional(),
    title: z.string().optional(),
    metadata: z.string().optional().openapi({ description: "A JSON object, as a string." }),
  })
  .openapi("DocumentFileUpload");

export const UploadQuerySchema = z.object({
  wait: z
    .enum(["true", "false"])
    .default("true")
    .transform((value) => value === "true")
    .openapi({ param: { name: "wait", in: "query" } }),
  embedding_mode: z
    .enum(["sync", "batch"])
    .default("sync")
    .openapi({
      param: { name: "embedding_mode", in: "query" },
      description:
        "batch: embed through OpenAI's Batch API (half price, within 24 h); answers 202 and the documents stay processing until their vectors land.",
    }),
});

export const DocumentSchema = z
  .object({
    id: z.string(),
    collection: z.string(),
    title: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(["queued", "processing", "ready", "failed"]),
    error: ErrorSchema.shape.error.nullable(),
    source: z.object({
      filename: z.string().nullable(),
      media_type: z.string(),
      bytes: z.number().int(),
      sha256: z.string(),
    }),
    page_count: z.number().int().nullable(),
    chunk_count: z.number().int(),
    token_count: z.number().int(),
    embedding_tokens: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Document");

export const DocumentBulkSchema = z.object({ data: z.array(DocumentSchema) });

export const DocumentParams = CollectionNameParam.extend({
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const ListDocumentsQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .openapi({ param: { name: "limit", in: "query" } }),
  after: z
    .string()
    .max(256)
    .optional()
    .openapi({ param: { name: "after", in: "query" } }),
});

export const DocumentListSchema = z.object({
  data: z.array(DocumentSchema),
  has_more: z.boolean(),
  next_after: z.string().nullable(),
});

/**
 * A metadata filter in either spelling (see src/store/filter-expression.ts): native
 * `{"key": value | {"$in": [values]}}`, or OpenAI's ComparisonFilter / CompoundFilter tree.
 */
export const FilterSchema = z
  .unknown()
  .superRefine((value, context) => {
    try {
      parseMetadataFilter(value);
    } catch (error) {
      context.addIssue({
        code: "custom",
        message: error instanceof Error ? error.message.replace(/^filter(: |\.)/, "") : "invalid",
      });
    }
  })
  .transform((value) => value as MetadataFilter)
  .openapi("MetadataFilter", {
    type: "object",
    description:
      'Native: {"key": value | {"$in": [values]}} (keys ANDed). OpenAI: {"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key", "value"} or {"type": "and"|"or", "filters": [...]}, nested. An object is read as OpenAI\'s when its type is one of those names and it has key or filters.',
    additionalProperties: true,
  });

export const MAX_QUERY_CHARS = 4000;

export const SearchRequestSchema = z
  .object({
    query: z.string().trim().min(1, "query must not be empty.").max(MAX_QUERY_CHARS),
    k: z.number().int().min(1).max(100).default(10),
    mode: z.enum(["hybrid", "vector", "keyword"]).default("hybrid"),
    filter: FilterSchema.optional(),
  })
  .strict()
  .openapi("SearchRequest");

export const SearchResultSchema = z
  .object({
    chunk_id: z.string(),
    document_id: z.string(),
    title: z.string().nullable(),
    score: z.number(),
    text: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    page_start: z.number().int().nullable(),
    page_end: z.number().int().nullable(),
    char_start: z.number().int(),
    char_end: z.number().int(),
  })
  .openapi("SearchResult");

export const SearchResponseSchema = z
  .object({
    data: z.array(SearchResultSchema),
    mode: z.enum(["hybrid", "vector", "keyword"]),
    took_ms: z.number(),
  })
  .openapi("SearchResponse");

/** The error responses every /v1 route can give, for the OpenAPI description. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: "Error", content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );

export const ReindexRequestSchema = z
  .object({
    embedding: z
      .object({
        provider: z.enum(["local", "openai"]),
        model: z.string().min(1).max(200).optional(),
        dimensions: z.number().int().positive().max(4096).optional(),
      })
      .strict(),
    dry_run: z.boolean().default(false),
  })
  .strict()
  .openapi("ReindexRequest");

export const ReindexResponseSchema = z
  .object({
    dry_run: z.boolean(),
    embedding: EmbeddingSchema,
    chunks: z.number().int(),
    distinct_texts: z.number().int(),
    cached_texts: z.number().int(),
    tokens: z.number().int().openapi({
      description: "Tokens to embed (dry run) or embedded (real run); cache hits excluded.",
    }),
    cost_usd: z.number().nullable().openapi({
      description: "At the synchronous price; null when the model has no known price.",
    }),
    batch_cost_usd: z.number().nullable(),
    took_ms: z.number(),
    collection: CollectionSchema.optional(),
  })
  .openapi("ReindexResult");
