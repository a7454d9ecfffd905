import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import type { ErrorBody } from "../errors.ts";
import type { MetadataFilter } from "./filter-expression.ts";

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

export type {
  FilterExpression,
  FilterScalar,
  MetadataFilter,
  NativeFilter,
} from "./filter-expression.ts";

export interface ScoredChunk {
  chunkId: number;
  /** Higher is better; comparable only within one retrieval method. */
  score: number;
}

/**
 * How a job's chunks get their vectors: `sync` calls the embedding API directly; `batch` goes
 * through the provider's Batch API (cheaper, slower), parking the job until the batch ends.
 */
export type EmbeddingMode = "sync" | "batch";

/** What an upload asks to become; stored with the job so the queue survives restarts. */
export interface IngestRequest {
  collection: string;
  documentId: string;
  title: string | null;
  metadata: Metadata;
  source: DocumentSource;
  payload: Uint8Array;
  /** Stored with the job and returned on its IngestJob; absent means "sync". */
  embeddingMode?: EmbeddingMode | undefined;
  /** This document's own chunking; absent means the collection's. */
  chunking?: ChunkingConfig | undefined;
}

export interface IngestJob extends IngestRequest {
  jobId: number;
  attempts: number;
  enqueuedAt: string;
}

/** A running job waiting on work done elsewhere (see `Store.parkJob`). */
export interface ParkedJob extends IngestJob {
  /** The handle the work is resumed by, e.g. an OpenAI batch id. */
  externalRef: string;
}

/** One stored chunk's text, as re-embedding needs it (see `Store.listChunkTexts`). */
export interface ChunkText {
  chunkId: number;
  documentId: string;
  text: string;
  tokenCount: number;
}

/** What `Store.swapEmbedding` did: swapped, or not because these chunks have no staged vector. */
export type SwapOutcome = { swapped: true } | { swapped: false; missingChunkIds: number[] };

export interface IngestResult {
  jobId: number;
  collection: string;
  documentId: string;
  title: string | null;
  pageCount: number | null;
  tokenCount: number;
  embeddingTokens: number;
  chunks: ChunkInput[];
  /**
   * The embedding configuration the vectors were made with. When given and the collection's
   * configuration differs (it was re-indexed meanwhile), commitIngest throws AppError
   * `conflict` and changes nothing, so the caller can embed again.
   */
  embedding?: EmbeddingConfig | undefined;
}

/** How one job of commitIngestMany ended: commitIngest's answer, or what it would have thrown. */
export type CommitOutcome =
  | { ok: true; document: DocumentRecord | null }
  | { ok: false; error: unknown };

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

/** A keyword query as weighted index terms (lowercase Porter stems), e.g. an RM3 query model. */
export interface WeightedKeywordQuery {
  collection: string;
  terms: ReadonlyMap<string, number>;
  k: number;
  filter?: MetadataFilter | undefined;
}

/** Corpus statistics for weighting query terms (see `Store.termStatistics`). */
export interface TermStatistics {
  /** How many chunks the statistics were taken over. */
  chunkCount: number;
  /** Chunks containing each asked term; absent terms occur nowhere. */
  documentFrequencies: Map<string, number>;
}

export interface DocumentPage {
  documents: DocumentRecord[];
  hasMore: boolean;
}

/**
 * An object of the OpenAI-compatible surface with no native counterpart (an uploaded file, a
 * vector store's settings, a file batch), kept as JSON under (kind, parent, id).
 */
export interface OpenAIObject {
  kind: string;
  /** The owning object's id ("" for top-level objects). */
  parent: string;
  id: string;
  /** Unix seconds, as OpenAI reports times. */
  createdAt: number;
  body: Record<string, unknown>;
}

/** Which OpenAI objects to list or delete: a kind, narrowed by parent and/or id. */
export interface OpenAIObjectQuery {
  kind: string;
  parent?: string | undefined;
  id?: string | undefined;
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
  /** enqueueIngest for several uploads in one transaction: all are recorded, or none. Optional. */
  enqueueIngestMany?(requests: IngestRequest[]): Promise<EnqueueOutcome[]>;
  /** Takes the oldest queued job and marks its document processing; null when none. */
  claimNextJob(): Promise<IngestJob | null>;
  /**
   * Atomically swaps in the document's new chunks (text, vectors, keyword index) and marks it
   * ready. A job superseded by a newer upload of the same id is dropped instead (returns null).
   */
  commitIngest(result: IngestResult): Promise<DocumentRecord | null>;
  /**
   * commitIngest for several jobs in one transaction, each still all or nothing on its own:
   * one job's failure is reported in its place and the others are committed. Optional; stores
   * without it commit one job at a time.
   */
  commitIngestMany?(results: IngestResult[]): Promise<CommitOutcome[]>;
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

  /**
   * Replaces a document's metadata (and that of its pending upload) without touching chunks or
   * vectors; null when there is no such document.
   */
  updateDocumentMetadata(
    collection: string,
    id: string,
    metadata: Metadata,
  ): Promise<DocumentRecord | null>;

  // --- Objects of the OpenAI-compatible surface (src/openai-compat). ---

  /** Inserts or replaces an object; `content` (an uploaded file's bytes) is kept when omitted. */
  putOpenAIObject(object: OpenAIObject, content?: Uint8Array): Promise<void>;
  getOpenAIObject(kind: string, parent: string, id: string): Promise<OpenAIObject | null>;
  /** The bytes stored with an object; null when it has none or does not exist. */
  getOpenAIContent(kind: string, parent: string, id: string): Promise<Uint8Array | null>;
  /** Matching objects, oldest first (creation order). */
  listOpenAIObjects(query: OpenAIObjectQuery): Promise<OpenAIObject[]>;
  /** Deletes matching objects; returns how many. */
  deleteOpenAIObjects(query: OpenAIObjectQuery): Promise<number>;

  keywordSearch(query: KeywordQuery): Promise<ScoredChunk[]>;
  vectorSearch(query: VectorQuery): Promise<ScoredChunk[]>;
  /**
   * Optional: in how many chunks each term occurs, terms given as keyword search indexes them
   * (lowercase Porter stems). Search uses it for IDF weights; a backend may answer from a wider
   * scope than the collection (SQLite counts over its one FTS5 index, shared by all collections).
   */
  termStatistics?(collection: string, terms: string[]): Promise<TermStatistics>;
  /**
   * Optional: the mean number of indexed tokens per chunk (title and text, stop words
   * included), the avgdl of BM25 re-scoring; same scope as `termStatistics`. Search estimates
   * it from its candidates when absent.
   */
  averageKeywordLength?(collection: string): Promise<number>;
  /**
   * Optional: chunks ranked by BM25 with per-term weights over the whole collection (terms as
   * `termStatistics` takes them; stop words are not indexed). Search runs RM3's expanded query
   * through it; without it (or while it answers null: its index is still being built) RM3
   * re-scores keyword-search candidates instead.
   */
  weightedKeywordSearch?(query: WeightedKeywordQuery): Promise<ScoredChunk[] | null>;
  /** Chunks by id, in the order asked; ids that no longer exist are left out. */
  getChunks(chunkIds: number[]): Promise<ChunkRecord[]>;
  /** A document's current chunks in reading order (by ordinal); empty when it has none. */
  listDocumentChunks(collection: string, id: string): Promise<ChunkRecord[]>;

  getCachedEmbeddings(
    key: EmbeddingCacheKey,
    textHashes: string[],
  ): Promise<Map<string, Float32Array>>;
  putCachedEmbeddings(
    key: EmbeddingCacheKey,
    entries: { textHash: string; vector: Float32Array }[],
  ): Promise<void>;

  // --- Batch API ingestion: a job can wait on external work across restarts. Optional: a
  // backend without these rejects `embedding_mode=batch` uploads (invalid_request). ---

  /**
   * Marks a running job as waiting on external work (e.g. an OpenAI batch), remembering the
   * handle to resume it by. Its document stays `processing`; requeueInterruptedJobs leaves it
   * alone; commitIngest / failIngest end it as usual. False when the job no longer exists
   * (superseded or deleted).
   */
  parkJob?(jobId: number, externalRef: string): Promise<boolean>;
  /** Every parked job (with payload), oldest first: what to resume after a restart. */
  listParkedJobs?(): Promise<ParkedJob[]>;

  // --- Re-indexing: new vectors are staged beside the live ones, then swapped in at once.
  // Optional as a group: a backend without them rejects re-index requests. ---

  /** A page of a collection's chunks ordered by chunk id, after `afterChunkId` (exclusive). */
  listChunkTexts?(
    collection: string,
    page: { afterChunkId?: number | undefined; limit: number },
  ): Promise<ChunkText[]>;
  /**
   * Stores vectors made with `embedding` for existing chunks, invisible to search until
   * swapEmbedding. Staging under a different configuration first discards what was staged.
   * Vectors of chunks deleted meanwhile are dropped.
   */
  stageVectors?(
    collection: string,
    embedding: EmbeddingConfig,
    entries: { chunkId: number; vector: Float32Array }[],
  ): Promise<void>;
  /**
   * In one transaction: makes the staged vectors live, sets the collection's embedding
   * configuration to the staged one and each listed document's `embeddingTokens` (documents
   * not listed keep theirs). Swaps nothing when a current chunk has no staged vector (chunks
   * added while re-embedding) and names those chunks instead.
   */
  swapEmbedding?(
    collection: string,
    input: { embedding: EmbeddingConfig; documentEmbeddingTokens: Map<string, number> },
  ): Promise<SwapOutcome>;
  /** Forgets the collection's staged vectors (a re-index that failed or was abandoned). */
  discardStagedVectors?(collection: string): Promise<void>;
}
