import type { z } from "@hono/zod-openapi";
import { answerJson, collectionJson, documentJson, searchResultJson } from "../api/serializers.ts";
import { invalidRequest } from "../api/validation.ts";
import { AppError, notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import type { DocumentRecord } from "../store/store.ts";
import { assembleDocumentText, pagesWithin } from "./document-text.ts";
import {
  AnswerToolInput,
  AnswerToolOutput,
  GetDocumentToolInput,
  GetDocumentToolOutput,
  ListCollectionsToolInput,
  ListCollectionsToolOutput,
  ListDocumentsToolInput,
  ListDocumentsToolOutput,
  SearchToolInput,
  SearchToolOutput,
  UploadDocumentToolInput,
  UploadDocumentToolOutput,
} from "./schemas.ts";

/** One MCP tool: its contract (zod schemas shared with the HTTP API) and what it does. */
export interface GleanerTool {
  name: string;
  title: string;
  description: string;
  input: z.ZodType;
  output: z.ZodType;
  /** Writing tools are neither listed nor callable for read-only keys. */
  writes: boolean;
  /** Validates the arguments like the HTTP API does (invalid_request naming the field), then runs. */
  call(services: Services, args: unknown, signal: AbortSignal): Promise<Record<string, unknown>>;
}

function defineTool<Input extends z.ZodType, Output extends z.ZodType>(definition: {
  name: string;
  title: string;
  description: string;
  input: Input;
  output: Output;
  writes?: boolean;
  run(services: Services, args: z.output<Input>, signal: AbortSignal): Promise<z.input<Output>>;
}): GleanerTool {
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    input: definition.input,
    output: definition.output,
    writes: definition.writes ?? false,
    async call(services, args, signal) {
      const parsed = definition.input.safeParse(args ?? {});
      if (!parsed.success) throw invalidRequest(parsed.error.issues);
      return (await definition.run(services, parsed.data, signal)) as Record<string, unknown>;
    },
  };
}

async function requireCollection(services: Services, name: string): Promise<void> {
  if (!(await services.store.getCollection(name))) {
    throw notFound(`Collection "${name}"`, "collection");
  }
}

async function requireDocument(
  services: Services,
  collection: string,
  id: string,
): Promise<DocumentRecord> {
  await requireCollection(services, collection);
  const document = await services.store.getDocument(collection, id);
  if (!document) throw notFound(`Document "${id}" in collection "${collection}"`, "id");
  return document;
}

const search = defineTool({
  name: "search",
  title: "Search documents",
  description:
    "Ranked passages of a collection's documents for a query (hybrid keyword + vector by default). " +
    "Each result names its document (document_id, title), pages (page_start, page_end) and exact " +
    "character range (char_start, char_end) in the document's text; read around a hit with " +
    "get_document. filter narrows by document metadata: {key: value} or {key: {$in: [values]}}.",
  input: SearchToolInput,
  output: SearchToolOutput,
  async run(services, args) {
    const response = await services.search.search({
      collection: args.collection,
      query: args.query,
      k: args.k,
      mode: args.mode,
      filter: args.filter,
    });
    return {
      data: response.hits.map(searchResultJson),
      mode: response.mode,
      took_ms: response.tookMs,
    };
  },
});

const answer = defineTool({
  name: "answer",
  title: "Answer from documents",
  description:
    "A grounded answer to a question from a collection's documents. Claims are marked [n]; every " +
    "citation's quote was verified verbatim in its source passage. When the documents do not " +
    "contain the answer it says so and cites nothing (insufficient_context: true).",
  input: AnswerToolInput,
  output: AnswerToolOutput,
  async run(services, args, signal) {
    const prepared = await services.answers.prepare({
      collection: args.collection,
      question: args.question,
      k: args.k,
      filter: args.filter,
      stream: false,
      previousResponseId: args.previous_response_id,
      model: args.model,
      reasoningEffort: args.reasoning_effort,
      verbosity: args.verbosity,
      signal,
    });
    return answerJson(await prepared.run());
  },
});

const listCollections = defineTool({
  name: "list_collections",
  title: "List collections",
  description: "Every collection with its description and document and chunk counts.",
  input: ListCollectionsToolInput,
  output: ListCollectionsToolOutput,
  async run(services) {
    return { data: (await services.store.listCollections()).map(collectionJson) };
  },
});

const listDocuments = defineTool({
  name: "list_documents",
  title: "List documents",
  description:
    "A collection's documents ordered by id, `limit` at a time; pass next_after as `after` for the next page.",
  input: ListDocumentsToolInput,
  output: ListDocumentsToolOutput,
  async run(services, args) {
    await requireCollection(services, args.collection);
    const page = await services.store.listDocuments(args.collection, {
      limit: args.limit,
      after: args.after,
    });
    const last = page.documents.at(-1);
    return {
      data: page.documents.map(documentJson),
      has_more: page.hasMore,
      next_after: page.hasMore && last ? last.id : null,
    };
  },
});

const getDocument = defineTool({
  name: "get_document",
  title: "Read a document",
  description:
    "A document's details and its extracted text from char_start, at most max_chars characters " +
    "(offsets are those of search results, so pass a hit's char_start minus some context to read " +
    "around it), with the pages that range lies on. next_char_start continues reading; null at the end.",
  input: GetDocumentToolInput,
  output: GetDocumentToolOutput,
  async run(services, args) {
    const document = await requireDocument(services, args.collection, args.id);
    const chunks = await services.store.listDocumentChunks(args.collection, args.id);
    const { text, pages } = assembleDocumentText(chunks);
    if (args.char_start > text.length) {
      throw new AppError(
        "invalid_request",
        `char_start: the document's text has ${text.length} characters; start at or before that.`,
        { param: "char_start" },
      );
    }
    const end = Math.min(text.length, args.char_start + args.max_chars);
    return {
      document: documentJson(document),
      text: text.slice(args.char_start, end),
      char_start: args.char_start,
      char_end: end,
      total_chars: text.length,
      next_char_start: end < text.length ? end : null,
      pages: pagesWithin(pages, args.char_start, end),
    };
  },
});

const uploadDocument = defineTool({
  name: "upload_document",
  title: "Add a document",
  description:
    "Adds (or replaces, by id) a document and waits until it is searchable: text, or a file " +
    "(PDF, DOCX, HTML, Markdown, plain text) as content_base64. The same id with the same " +
    "content changes nothing. Needs a full-access key.",
  input: UploadDocumentToolInput,
  output: UploadDocumentToolOutput,
  writes: true,
  async run(services, args) {
    await requireCollection(services, args.collection);
    const submitted = await services.ingest.submit(
      {
        collection: args.collection,
        documentId: args.id,
        title: args.title,
        metadata: args.metadata,
        filename: args.filename ?? null,
        declaredType: args.text === undefined ? null : "text/plain",
        isText: args.text !== undefined,
        bytes:
          args.text === undefined
            ? new Uint8Array(Buffer.from(args.content_base64 ?? "", "base64"))
            : new TextEncoder().encode(args.text),
      },
      { discardOnFailure: true },
    );
    if (!submitted.queued || submitted.jobId === null) return documentJson(submitted.document);
    const outcome = await services.ingest.waitFor(submitted.jobId);
    if (outcome.error) {
      throw new AppError(outcome.error.type, outcome.error.message, { param: outcome.error.param });
    }
    return documentJson(outcome.document ?? submitted.document);
  },
});

/** Every tool, in the order clients list them. */
export const TOOLS: readonly GleanerTool[] = [
  search,
  answer,
  listCollections,
  listDocuments,
  getDocument,
  uploadDocument,
];
