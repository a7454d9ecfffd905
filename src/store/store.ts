import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import type { ErrorBody } from "../errors.ts";

export interface ChunkingConfig {
  maxTokens: number;
  overlapTokens: number;
}

export interface NewCollection {
  name: string;
  description: string;
  embedding: EmbeddingConfig;
  chunking: ChunkingConfig;
}

export interface CollectionRecord extends NewCollection {
  createdAt: string;
  documentCount: number;
  chunkCount: number;
  /** Embedding tokens spent on this collection's chunks (cache hits excluded). */
  embeddingTokens: number;
}

export type DocumentStatus = "queued" | "processing" | "ready" | "failed";

export interface DocumentSource {
  filename: string | null;
  mediaType: string;
  bytes: number;
  sha256: string;
}

export type Metadata = Record<string, unknown>;

export interface DocumentRecord {
  collection: string;
  id: string;
  title: string | null;
  metadata: Metadata;
  status: DocumentStatus;
  error: ErrorBody | null;
  source: DocumentSource;
  pageCount: number | null;
  chunkCount: number;
  tokenCount: number;
  embeddingTokens: number;
  createdAt: string;
  updatedAt: string;
}

/** A chunk ready to store: text, position in the document, and its vector. */
export interface ChunkInput {
  text: string;
  charStart: number;
  charEnd: number;
  pageStart: number | null;
  pageEnd: number | null;
  tokenCount: number;
  vector: Float32Array;
}

export interface ChunkRecord {
  chunkId: number;
  collection: string;
  documentId: string;
  title: string | null;
  metadata: Metadata;
  ordinal: number;
  text: string;
  charStart: number;
  charEnd: number;
  pageStart: number | null;
  pageEnd: number | null;
  tokenCount: number;
}

export type FilterScalar = string | number | boolean | null;
/** `{"key": value}` or `{"key": {"$in": [values]}}` over document metadata. */
export type MetadataFilter = Record<string, FilterScalar | { $in: FilterScalar[] }>;

export interface ScoredChunk {
  chunkId: number;
  /** Higher is better; comparable only within one retrieval method. */
  score: number;
}

/** What an upload asks to become; stored with the job so the queue survives restarts. */
export interface IngestRequest {
  collection: string;
  documentId: string;
  title: string | null;
  metadata: Metadata;
  source: DocumentSource;
  payload: Uint8Array;
}

export interface IngestJob extends IngestRequest {
  jobId: number;
  attempts: number;
  enqueuedAt: string;
}

export interface IngestResult {
  jobId: number;
  collection: string;
  documentId: string;
  title: string | null;
  pageCount: number | null;
  tokenCount: number;
  embeddingTokens: number;
  chunks: ChunkInput[];
}

export interface EnqueueOutcome {
  document: DocumentRecord;
  /** null when the upload was a no-op (same id, same content). */
  jobId: number | null;
}

export interface KeywordQuery {
  collection: string;
  text: string;
  k: number;
  filter?: MetadataFilter | undefined;
}

export interface VectorQuery {
  collection: string;
  vector: Float32Array;
  k: number;
  filter?: MetadataFilter | undefined;
  /** HNSW search breadth; the backend picks a default when absent. */
  ef?: number | undefined;
}

export interface DocumentPage {
  documents: DocumentRecord[];
  hasMore: boolean;
}

export interface EmbeddingCacheKey {
  provider: string;
  model: string;
  dimensions: number;
}

/**
 * The storage seam: everything search, ingest and the API need from a backend.
 * Implementations: SQLite + HNSW (embedded default); others run the same contract suite.
 */
export interface Store {
  /** Opens the database, applies migrations and loads (or rebuilds) the vector indexes. */
  open(): Promise<void>;
  /** Persists indexes and closes the database. */
  close(): Promise<void>;

  createCollection(input: NewCollection): Promise<CollectionRecord>;
  getCollection(name: string): Promise<CollectionRecord | null>;
  listCollections(): Promise<CollectionRecord[]>;
  /** Deletes the collection with its documents, chunks, vectors and queued jobs. */
  deleteCollection(name: string): Promise<boolean>;

  getDocument(collection: string, id: string): Promise<DocumentRecord | null>;
  listDocuments(
    collection: string,
    page: { limit: number; after?: string | undefined },
  ): Promise<DocumentPage>;
  /**
   * Records an upload and queues its processing in one transaction. Same id and same content
   * as the current or pending version is a no-op (jobId null).
   */
  enqueueIngest(request: IngestRequest): Promise<EnqueueOutcome>;
  /** Takes the oldest queued job and marks its document processing; null when none. */
  claimNextJob(): Promise<IngestJob | null>;
  /**
   * Atomically swaps in the document's new chunks (text, vectors, keyword index) and marks it
   * ready. A job superseded by a newer upload of the same id is dropped instead (returns null).
   */
  commitIngest(result: IngestResult): Promise<DocumentRecord | null>;
  /**
   * Ends a failed job. A document with an earlier ready version keeps it (status ready, with the
   * error noted); a new document is marked failed, or removed when `discardNewDocument` is set.
   */
  failIngest(input: {
    jobId: number;
    collection: string;
    documentId: string;
    error: ErrorBody;
    discardNewDocument: boolean;
  }): Promise<DocumentRecord | null>;
  /** Puts jobs that were running when the process died back in the queue; returns how many. */
  requeueInterruptedJobs(): Promise<number>;
  countQueuedJobs(): Promise<number>;
  deleteDocument(collection: string, id: string): Promise<boolean>;

  keywordSearch(query: KeywordQuery): Promise<ScoredChunk[]>;
  vectorSearch(query: VectorQuery): Promise<ScoredChunk[]>;
  /** Chunks by id, in the order asked; ids that no longer exist are left out. */
  getChunks(chunkIds: number[]): Promise<ChunkRecord[]>;

  getCachedEmbeddings(
    key: EmbeddingCacheKey,
    textHashes: string[],
  ): Promise<Map<string, Float32Array>>;
  putCachedEmbeddings(
    key: EmbeddingCacheKey,
    entries: { textHash: string; vector: Float32Array }[],
  ): Promise<void>;
}
