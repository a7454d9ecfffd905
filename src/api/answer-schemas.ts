import { z } from "@hono/zod-openapi";
import { FilterSchema, MAX_QUERY_CHARS, SearchResultSchema } from "./schemas.ts";

export const AnswerRequestSchema = z
  .object({
    question: z.string().trim().min(1, "question must not be empty.").max(MAX_QUERY_CHARS),
    k: z.number().int().min(1).max(100).default(8),
    filter: FilterSchema.optional(),
    stream: z.boolean().default(false),
    previous_response_id: z.string().min(1).max(256).optional(),
    model: z.string().min(1).max(200).optional(),
    reasoning_effort: z.enum(["minimal", "low", "medium", "high"]).optional(),
    verbosity: z.enum(["low", "medium", "high"]).optional(),
  })
  .strict()
  .openapi("AnswerRequest");

export const CitationSchema = z
  .object({
    n: z.number().int(),
    chunk_id: z.string(),
    document_id: z.string(),
    title: z.string().nullable(),
    page_start: z.number().int().nullable(),
    page_end: z.number().int().nullable(),
    quote: z.string().openapi({ description: "Verbatim (whitespace-normalised) from the chunk." }),
    char_start: z
      .number()
      .int()
      .openapi({ description: "Start of the quote in the document text." }),
    char_end: z.number().int(),
  })
  .openapi("Citation");

export const AnswerUsageSchema = z
  .object({
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    reasoning_tokens: z.number().int(),
    embedding_tokens: z.number().int(),
    cost_usd: z
      .number()
      .nullable()
      .openapi({ description: "null when a model has no known price." }),
  })
  .openapi("AnswerUsage");

export const AnswerResponseSchema = z
  .object({
    id: z.string().openapi({ description: "Pass as previous_response_id to continue (llm mode)." }),
    answer: z.string(),
    citations: z.array(CitationSchema),
    sources: z.array(SearchResultSchema),
    mode: z.enum(["llm", "extractive"]),
    model: z.string().nullable(),
    usage: AnswerUsageSchema,
    status: z.enum(["completed", "refused", "incomplete"]),
    incomplete_reason: z.string().nullable(),
    insufficient_context: z.boolean(),
  })
  .openapi("Answer");

/** The event-stream form, for the OpenAPI description only (events: sources, delta, done, error). */
export const AnswerEventStreamSchema = z.string().openapi({
  description:
    "Server-sent events: `sources` ([SearchResult]), `delta` ({text}), then `done` " +
    "(the Answer object; its `answer` is authoritative, with markers renumbered after " +
    "verification) or `error` ({error}).",
});
