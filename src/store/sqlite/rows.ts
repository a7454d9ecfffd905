import type { ErrorBody } from "../../errors.ts";
import type {
  ChunkRecord,
  CollectionRecord,
  DocumentRecord,
  DocumentStatus,
  IngestJob,
  Metadata,
} from "../store.ts";

export interface CollectionRow {
  id: number;
  name: string;
  description: string;
  embedding_provider: string;
  embedding_model: string;
  embedding_dimensions: number;
  chunk_max_tokens: number;
  chunk_overlap_tokens: number;
  vector_generation: number;
  created_at: string;
  document_count: number;
  chunk_count: number;
  embedding_tokens: number;
}

export interface DocumentRow {
  key: number;
  collection_id: number;
  collection_name: string;
  external_id: string;
  title: string | null;
  metadata: string;
  status: DocumentStatus;
  error: string | null;
  source_filename: string | null;
  source_media_type: string;
  source_bytes: number;
  source_sha256: string;
  page_count: number | null;
  chunk_count: number;
  token_count: number;
  embedding_tokens: number;
  pending_job_id: number | null;
  has_ready_version: number;
  created_at: string;
  updated_at: string;
}

export interface ChunkRow {
  id: number;
  collection_name: string;
  external_id: string;
  title: string | null;
  metadata: string;
  ordinal: number;
  text: string;
  char_start: number;
  char_end: number;
  page_start: number | null;
  page_end: number | null;
  token_count: number;
}

export interface JobRow {
  id: number;
  collection_name: string;
  document_id: string;
  title: string | null;
  metadata: string;
  source_filename: string | null;
  source_media_type: string;
  source_bytes: number;
  source_sha256: string;
  payload: Buffer;
  attempts: number;
  enqueued_at: string;
}

export function toCollectionRecord(row: CollectionRow): CollectionRecord {
  return {
    name: row.name,
    description: row.description,
    embedding: {
      provider: row.embedding_provider === "openai" ? "openai" : "local",
      model: row.embedding_model,
      dimensions: row.embedding_dimensions,
    },
    chunking: { maxTokens: row.chunk_max_tokens, overlapTokens: row.chunk_overlap_tokens },
    createdAt: row.created_at,
    documentCount: row.document_count,
    chunkCount: row.chunk_count,
    embeddingTokens: row.embedding_tokens,
  };
}

export function toDocumentRecord(row: DocumentRow): DocumentRecord {
  return {
    collection: row.collection_name,
    id: row.external_id,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Metadata,
    status: row.status,
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorBody),
    source: {
      filename: row.source_filename,
      mediaType: row.source_media_type,
      bytes: row.source_bytes,
      sha256: row.source_sha256,
    },
    pageCount: row.page_count,
    chunkCount: row.chunk_count,
    tokenCount: row.token_count,
    embeddingTokens: row.embedding_tokens,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toChunkRecord(row: ChunkRow): ChunkRecord {
  return {
    chunkId: row.id,
    collection: row.collection_name,
    documentId: row.external_id,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Metadata,
    ordinal: row.ordinal,
    text: row.text,
    charStart: row.char_start,
    charEnd: row.char_end,
    pageStart: row.page_start,
    pageEnd: row.page_end,
    tokenCount: row.token_count,
  };
}

export function toIngestJob(row: JobRow): IngestJob {
  return {
    jobId: row.id,
    collection: row.collection_name,
    documentId: row.document_id,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Metadata,
    source: {
      filename: row.source_filename,
      mediaType: row.source_media_type,
      bytes: row.source_bytes,
      sha256: row.source_sha256,
    },
    payload: new Uint8Array(row.payload.buffer, row.payload.byteOffset, row.payload.byteLength),
    attempts: row.attempts,
    enqueuedAt: row.enqueued_at,
  };
}
