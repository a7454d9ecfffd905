import type { z } from "@hono/zod-openapi";
import type { SearchHit } from "../search/search-service.ts";
import type { CollectionRecord, DocumentRecord } from "../store/store.ts";
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
