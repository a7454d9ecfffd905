import pg from "pg";
import type { ErrorBody } from "../../errors.ts";
import type {
  ChunkingConfig,
  ChunkRecord,
  CollectionRecord,
  DocumentRecord,
  DocumentStatus,
  IngestJob,
  Metadata,
} from "../store.ts";

const INT8_OID = 20;

/**
 * Type parsers for Gleaner's pool: bigint ids and counts as numbers (identities stay far below
 * 2^53), everything else as `pg` parses it (timestamptz → Date, jsonb → object, bytea → Buffer).
 */
export const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? "text");
  },
} as pg.CustomTypesConfig;

export interface CollectionRow {
  id: number;
  name: string;
  description: string;
  embedding_provider: string;
  embedding_model: string;
  embedding_dimensions: number;
  chunk_max_tokens: number;
  chunk_overlap_tokens: number;
  created_at: Date;
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
  metadata: Metadata;
  status: DocumentStatus;
  error: ErrorBody | null;
  source_filename: string | null;
  source_media_type: string;
  source_bytes: number;
  source_sha256: string;
  page_count: number | null;
  chunk_count: number;
  token_count: number;
  embedding_tokens: number;
  pending_job_id: number | null;
  has_ready_version: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface ChunkRow {
  id: number;
  collection_name: string;
  external_id: string;
  title: string | null;
  metadata: Metadata;
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
  metadata: Metadata;
  source_filename: string | null;
  source_media_type: string;
  source_bytes: number;
  source_sha256: string;
  payload: Buffer;
  attempts: number;
  enqueued_at: Date;
  embedding_mode: string;
  /** Absent from rows read before the column existed. */
  chunking?: ChunkingConfig | null;
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
    createdAt: row.created_at.toISOString(),
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
    metadata: row.metadata,
    status: row.status,
    error: row.error,
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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toChunkRecord(row: ChunkRow): ChunkRecord {
  return {
    chunkId: row.id,
    collection: row.collection_name,
    documentId: row.external_id,
    title: row.title,
    metadata: row.metadata,
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
    metadata: row.metadata,
    source: {
      filename: row.source_filename,
      mediaType: row.source_media_type,
      bytes: row.source_bytes,
      sha256: row.source_sha256,
    },
    payload: new Uint8Array(row.payload.buffer, row.payload.byteOffset, row.payload.byteLength),
    attempts: row.attempts,
    enqueuedAt: row.enqueued_at.toISOString(),
    ...(row.embedding_mode === "batch" ? { embeddingMode: "batch" as const } : {}),
    ...(row.chunking ? { chunking: row.chunking } : {}),
  };
}
