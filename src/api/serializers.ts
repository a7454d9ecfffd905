import type { z } from "@hono/zod-openapi";
import type { AnswerResult } from "../answer/answer-service.ts";
import type { Citation } from "../answer/citations.ts";
import type { SearchHit } from "../search/search-service.ts";
import type { CollectionRecord, DocumentRecord } from "../store/store.ts";
import type { AnswerResponseSchema, CitationSchema } from "./answer-schemas.ts";
import type { CollectionSchema, DocumentSchema, SearchResultSchema } from "./schemas.ts";

/** A collection as the API shows it. */
export function collectionJson(collection: CollectionRecord): z.infer<typeof CollectionSchema> {
  return {
    name: collection.name,
    description: collection.description,
    embedding: collection.embedding,
    chunking: {
      max_tokens: collection.chunking.maxTokens,
      overlap_tokens: collection.chunking.overlapTokens,
    },
    document_count: collection.documentCount,
    chunk_count: collection.chunkCount,
    embedding_tokens: collection.embeddingTokens,
    created_at: collection.createdAt,
  };
}

/** A document as the API shows it. */
export function documentJson(document: DocumentRecord): z.infer<typeof DocumentSchema> {
  return {
    id: document.id,
    collection: document.collection,
    title: document.title,
    metadata: document.metadata,
    status: document.status,
    error: document.error,
    source: {
      filename: document.source.filename,
      media_type: document.source.mediaType,
      bytes: document.source.bytes,
      sha256: document.source.sha256,
    },
    page_count: document.pageCount,
    chunk_count: document.chunkCount,
    token_count: document.tokenCount,
    embedding_tokens: document.embeddingTokens,
    created_at: document.createdAt,
    updated_at: document.updatedAt,
  };
}

/** A search hit as the API shows it. */
export function searchResultJson(hit: SearchHit): z.infer<typeof SearchResultSchema> {
  return {
    chunk_id: String(hit.chunkId),
    document_id: hit.documentId,
    title: hit.title,
    score: hit.score,
    text: hit.text,
    metadata: hit.metadata,
    page_start: hit.pageStart,
    page_end: hit.pageEnd,
    char_start: hit.charStart,
    char_end: hit.charEnd,
  };
}

function citationJson(citation: Citation): z.infer<typeof CitationSchema> {
  return {
    n: citation.n,
    chunk_id: String(citation.chunkId),
    document_id: citation.documentId,
    title: citation.title,
    page_start: citation.pageStart,
    page_end: citation.pageEnd,
    quote: citation.quote,
    char_start: citation.charStart,
    char_end: citation.charEnd,
  };
}

/** An answer as the API shows it. */
export function answerJson(result: AnswerResult): z.infer<typeof AnswerResponseSchema> {
  return {
    id: result.id,
    answer: result.answer,
    citations: result.citations.map(citationJson),
    sources: result.sources.map(searchResultJson),
    mode: result.mode,
    model: result.model,
    usage: {
      input_tokens: result.usage.inputTokens,
      output_tokens: result.usage.outputTokens,
      reasoning_tokens: result.usage.reasoningTokens,
      embedding_tokens: result.usage.embeddingTokens,
      cost_usd: result.usage.costUsd,
    },
    status: result.status,
    incomplete_reason: result.incompleteReason,
    insufficient_context: result.insufficientContext,
  };
}
