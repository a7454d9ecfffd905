import { z } from "@hono/zod-openapi";
import { AnswerRequestSchema, AnswerResponseSchema } from "../api/answer-schemas.ts";
import {
  CollectionListSchema,
  CollectionNameParam,
  DocumentListSchema,
  DocumentParams,
  DocumentSchema,
  ListDocumentsQuerySchema,
  SearchRequestSchema,
  SearchResponseSchema,
  TextDocumentSchema,
} from "../api/schemas.ts";
import { DEFAULT_COLLECTION } from "../collection-settings.ts";

// Tool inputs are the HTTP API's request schemas with the path parameters moved into the
// arguments, so MCP and HTTP validate the same way and the JSON Schemas cannot drift apart.

const collection = CollectionNameParam.shape.name.default(DEFAULT_COLLECTION);

export const SearchToolInput = SearchRequestSchema.extend({ collection });
export const SearchToolOutput = SearchResponseSchema;

/** Streaming is HTTP's (server-sent events); over MCP an answer comes back whole. */
export const AnswerToolInput = AnswerRequestSchema.omit({ stream: true }).extend({ collection });
export const AnswerToolOutput = AnswerResponseSchema;

export const ListCollectionsToolInput = z.object({}).strict();
export const ListCollectionsToolOutput = CollectionListSchema;

export const ListDocumentsToolInput = ListDocumentsQuerySchema.extend({ collection }).strict();
export const ListDocumentsToolOutput = DocumentListSchema;

/** Characters of text one get_document call returns at most. */
export const MAX_READ_CHARS = 100_000;
const DEFAULT_READ_CHARS = 20_000;

export const GetDocumentToolInput = z
  .object({
    collection,
    id: DocumentParams.shape.id,
    char_start: z.number().int().min(0).default(0).openapi({
      description: "Start of the text to return, as in a search result's char_start.",
    }),
    max_chars: z.number().int().min(1).max(MAX_READ_CHARS).default(DEFAULT_READ_CHARS).openapi({
      description: "How many characters to return from char_start; page on with next_char_start.",
    }),
  })
  .strict();

export const PageSpanSchema = z.object({
  page: z.number().int(),
  char_start: z.number().int(),
  char_end: z.number().int(),
});

export const GetDocumentToolOutput = z.object({
  document: DocumentSchema,
  text: z.string(),
  char_start: z.number().int(),
  char_end: z.number().int(),
  total_chars: z.number().int(),
  next_char_start: z.number().int().nullable(),
  pages: z.array(PageSpanSchema),
});

/**
 * The JSON upload's text document, or a file's bytes in base64 in place of `text` (what a
 * multipart upload carries as `file`, whose type is read from the bytes).
 */
export const UploadDocumentToolInput = TextDocumentSchema.partial({ text: true })
  .extend({
    collection,
    content_base64: z.base64().min(1).optional().openapi({
      description: "A file (PDF, DOCX, HTML, Markdown, text) in base64, instead of text.",
    }),
    filename: z.string().min(1).max(1000).optional().openapi({
      description: "The file's name; its extension helps tell Markdown from plain text.",
    }),
  })
  .strict()
  .refine((value) => (value.text === undefined) !== (value.content_base64 === undefined), {
    message: "Send the document as text or as content_base64 (a file): exactly one of the two.",
    path: ["text"],
  });
export const UploadDocumentToolOutput = DocumentSchema;
