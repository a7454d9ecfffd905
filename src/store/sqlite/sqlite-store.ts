import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { EmbeddingConfig } from "../../embed/embedding-model.ts";
import { AppError, type ErrorBody } from "../../errors.ts";
import { type Bm25Parameters, DEFAULT_BM25 } from "../../search/bm25.ts";
import { keywordQueryTerms } from "../../search/keyword-terms.ts";
import { DEFAULT_HNSW, type HnswParameters } from "../hnsw/hnsw-index.ts";
import type {
  ChunkingConfig,
  ChunkRecord,
  ChunkText,
  CollectionRecord,
  CommitOutcome,
  DocumentPage,
  DocumentRecord,
  EmbeddingCacheKey,
  EnqueueOutcome,
  IngestJob,
  IngestRequest,
  IngestResult,
  KeywordQuery,
  Metadata,
  NewCollection,
  OpenAIObject,
  OpenAIObjectQuery,
  ParkedJob,
  ScoredChunk,
  Store,
  SwapOutcome,
  TermStatistics,
  VectorQuery,
  WeightedKeywordQuery,
} from "../store.ts";
import { blobToVector, normalized, vectorToBlob } from "../vector-codec.ts";
import { EmbeddingStaging } from "./embedding-staging.ts";
import { toFtsMatchExpression } from "./fts-query.ts";
import { KeywordIndexes } from "./keyword-indexes.ts";
import { metadataFilterToSql } from "./metadata-filter-sql.ts";
import { migrate } from "./migrations.ts";
import { SqliteOpenAIObjects } from "./openai-objects.ts";
import {
  type ChunkRow,
  type CollectionRow,
  type DocumentRow,
  type JobRow,
  toChunkRecord,
  toCollectionRecord,
  toDocumentRecord,
  toIngestJob,
} from "./rows.ts";
import { DEFAULT_EXACT_SEARCH_BUDGET, VectorIndexes } from "./vector-indexes.ts";

export interface SqliteStoreOptions {
  dataDir: string;
  hnsw?: Partial<Omit<HnswParameters, "dimensions">>;
  /** How often changed indexes are written to disk; they are always written on close. */
  indexSaveIntervalMs?: number;
  /** A filter admitting at most this many chunks is answered by an exact scan instead of HNSW. */
  exactScanThreshold?: number;
  /**
   * A collection whose chunks × dimensions is at most this is searched exactly over vectors
   * kept in memory (default 5,120,000: 20k chunks of 256 dimensions); 0 always uses HNSW.
   */
  exactSearchBudget?: number;
  /** BM25 weights of the title and text columns. */
  keywordWeights?: { title: number; text: number };
  /**
   * Rank keyword searches with the in-memory index beside FTS5 (`keyword-indexes.ts`) instead
   * of FTS5's bm25(); needs `keywordStopWords` (stop words are not indexed). Default on.
   */
  memoryKeywordIndex?: boolean;
  /** BM25 k1 and b of the memory index (FTS5's bm25() has them fixed at 1.2 and 0.75). */
  keywordBm25?: Bm25Parameters;
  /** Query words left out of keyword matching (they still count in vectors). */
  keywordStopWords?: ReadonlySet<string>;
  /** Jobs interrupted this many times are failed instead of retried again. */
  maxJobAttempts?: number;
  now?: () => Date;
}

// document_count, chunk_count and embedding_tokens are kept up to date by triggers (schema v4)
const COLLECTION_COLUMNS = "c.*";

/** Vocabulary terms read into the frequency cache per step, and at most in all. */
const VOCABULARY_PAGE = 1_000;
const MAX_WARM_TERMS = 50_000;

/** Past this many FTS rows per wanted row, keyword search joins before ranking instead. */
const MAX_KEYWORD_DEPTH_SCALE = 16;
/** Below this share of the top FTS rows kept, keyword search stops ranking deeper and joins. */
const MIN_KEPT_SHARE = 1 / 8;

const DOCUMENT_COLUMNS = "d.*, c.name AS collection_name";

/** The embedded backend: one SQLite file (source of truth) plus one HNSW file per collection. */
export class SqliteStore implements Store {
  private db!: Database.Database;
  private vectors!: VectorIndexes;
  private staging!: EmbeddingStaging;
  private openaiObjects!: SqliteOpenAIObjects;
  private saveTimer: NodeJS.Timeout | null = null;
  /** Chunks in all collections, for term statistics; null when it must be counted again. */
  private chunkTotal: number | null = null;
  private vocabularyReady = false;
  /** Chunk document frequencies by term, valid while the chunk total stays near its basis. */
  private readonly frequencyCache = new Map<string, number>();
  private frequencyCacheBasis = 0;
  private averageLengthCache: { basis: number; value: number } | null = null;
  private readonly statements = new Map<string, Database.Statement>();
  private keywordIndexes!: KeywordIndexes;
  private keywordWarmUp: Promise<unknown> = Promise.resolve();
  /** Collections by name for the per-request look-up; cleared when one is created or dropped. */
  private readonly collectionsByName = new Map<
    string,
    { id: number; name: string; embedding_dimensions: number }
  >();
  private readonly options: Required<Omit<SqliteStoreOptions, "hnsw" | "keywordStopWords">> & {
    hnsw: Omit<HnswParameters, "dimensions">;
    keywordStopWords: ReadonlySet<string> | undefined;
  };

  constructor(options: SqliteStoreOptions) {
    this.options = {
      dataDir: options.dataDir,
      hnsw: { ...DEFAULT_HNSW, ...options.hnsw },
      indexSaveIntervalMs: options.indexSaveIntervalMs ?? 30_000,
      exactScanThreshold: options.exactScanThreshold ?? 2_000,
      exactSearchBudget: options.exactSearchBudget ?? DEFAULT_EXACT_SEARCH_BUDGET,
      keywordWeights: options.keywordWeights ?? { title: 1, text: 1 },
      keywordStopWords: options.keywordStopWords,
      memoryKeywordIndex: options.memoryKeywordIndex ?? true,
      keywordBm25: options.keywordBm25 ?? DEFAULT_BM25,
      maxJobAttempts: options.maxJobAttempts ?? 3,
      now: options.now ?? (() => new Date()),
    };
  }

  get indexLoadReports() {
    return this.vectors.loadReports;
  }

  async open(): Promise<void> {
    const indexDirectory = join(this.options.dataDir, "indexes");
    mkdirSync(indexDirectory, { recursive: true });
    this.db = new Database(join(this.options.dataDir, "gleaner.db"));
    this.db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode survives a killed process; only an OS crash can lose the last commits
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
    migrate(this.db);
    this.vectors = new VectorIndexes(
      this.db,
      indexDirectory,
      this.options.hnsw,
      this.options.exactSearchBudget,
    );
    this.staging = new EmbeddingStaging(this.db, this.vectors);
    this.openaiObjects = new SqliteOpenAIObjects(this.db);
    const { title, text } = this.options.keywordWeights;
    this.keywordIndexes = new KeywordIndexes(() => this.db, {
      bm25: this.options.keywordBm25,
      titleWeight: text > 0 ? title / text : 1,
    });
    const collections = this.sql<[], CollectionRow>(
      `SELECT ${COLLECTION_COLUMNS} FROM collections c ORDER BY id`,
    ).all();
    for (const row of collections) {
      await this.vectors.open(row.id, row.embedding_dimensions, row.vector_generation);
    }
    if (this.usesMemoryKeywordIndex) {
      this.keywordWarmUp = Promise.all(collections.map((row) => this.keywordIndexes.warm(row.id)));
    }
    if (this.options.indexSaveIntervalMs > 0) {
      this.saveTimer = setInterval(() => {
        void this.saveIndexes();
      }, this.options.indexSaveIntervalMs);
      this.saveTimer.unref();
    }
  }

  /** Resolves once the keyword indexes started by `open` are built (benchmarks wait for it). */
  async keywordIndexesReady(): Promise<void> {
    await this.keywordWarmUp;
  }

  async close(): Promise<void> {
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.saveTimer = null;
    if (!this.db?.open) return;
    await this.saveIndexes();
    this.db.close();
  }

  /**
   * Writes a consistent copy of the store into the new directory `destination` while it keeps
   * serving: the database through SQLite's online backup API, then the index files as saved.
   * An index that is older or newer than the copied database is reconciled when the copy opens.
   */
  async backup(destination: string): Promise<BackupReport> {
    await this.saveIndexes();
    return copyStoreFiles(this.db, join(this.options.dataDir, "indexes"), destination);
  }

  /** The same for a data directory that another process may be serving. */
  static async backupDataDir(dataDir: string, destination: string): Promise<BackupReport> {
    const db = new Database(join(dataDir, "gleaner.db"), { fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      return await copyStoreFiles(db, join(dataDir, "indexes"), destination);
    } finally {
      db.close();
    }
  }

  /** Writes changed vector indexes now. */
  async saveIndexes(): Promise<void> {
    await this.vectors.flush((collectionId) => this.generationOf(collectionId));
  }

  async createCollection(input: NewCollection): Promise<CollectionRecord> {
    const createdAt = this.timestamp();
    let id: number;
    try {
      id = Number(
        this.sql(
          `INSERT INTO collections (name, description, embedding_provider, embedding_model,
               embedding_dimensions, chunk_max_tokens, chunk_overlap_tokens, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          input.name,
          input.description,
          input.embedding.provider,
          input.embedding.model,
          input.embedding.dimensions,
          input.chunking.maxTokens,
          input.chunking.overlapTokens,
          createdAt,
        ).lastInsertRowid,
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError("conflict", `A collection named "${input.name}" already exists.`, {
          param: "name",
        });
      }
      throw error;
    }
    this.vectors.create(id, input.embedding.dimensions);
    this.keywordIndexes.create(id);
    this.collectionsByName.clear();
    return { ...input, createdAt, documentCount: 0, chunkCount: 0, embeddingTokens: 0 };
  }

  async getCollection(name: string): Promise<CollectionRecord | null> {
    const row = this.collectionRow(name);
    return row ? toCollectionRecord(row) : null;
  }

  async listCollections(): Promise<CollectionRecord[]> {
    return this.sql<[], CollectionRow>(
      `SELECT ${COLLECTION_COLUMNS} FROM collections c ORDER BY name`,
    )
      .all()
      .map(toCollectionRecord);
  }

  async deleteCollection(name: string): Promise<boolean> {
    const row = this.collectionRow(name);
    if (!row) return false;
    this.db.transaction(() => {
      this.sql(
        "DELETE FROM chunk_fts WHERE rowid IN (SELECT id FROM chunks WHERE collection_id = ?)",
      ).run(row.id);
      this.sql("DELETE FROM collections WHERE id = ?").run(row.id);
    })();
    this.vectors.drop(row.id);
    this.keywordIndexes.drop(row.id);
    this.staging.discard(row.id);
    this.collectionsByName.clear();
    this.chunkTotal = null;
    return true;
  }

  async getDocument(collection: string, id: string): Promise<DocumentRecord | null> {
    const row = this.documentRow(this.requireCollection(collection).id, id);
    return row ? toDocumentRecord(row) : null;
  }

  async listDocuments(
    collection: string,
    page: { limit: number; after?: string | undefined },
  ): Promise<DocumentPage> {
    const collectionId = this.requireCollection(collection).id;
    const rows = this.sql<[number, string, number], DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id
         WHERE d.collection_id = ? AND d.external_id > ? ORDER BY d.external_id LIMIT ?`,
    ).all(collectionId, page.after ?? "", page.limit + 1);
    return {
      documents: rows.slice(0, page.limit).map(toDocumentRecord),
      hasMore: rows.length > page.limit,
    };
  }

  async enqueueIngest(request: IngestRequest): Promise<EnqueueOutcome> {
    const [outcome] = await this.enqueueIngestMany([request]);
    if (!outcome) throw new AppError("internal", "enqueueIngestMany returned no outcome.");
    return outcome;
  }

  async enqueueIngestMany(requests: IngestRequest[]): Promise<EnqueueOutcome[]> {
    const now = this.timestamp();
    return this.db.transaction(() => requests.map((request) => this.writeEnqueue(request, now)))();
  }

  /** enqueueIngest's writes, inside a transaction. */
  private writeEnqueue(request: IngestRequest, now: string): EnqueueOutcome {
    const collection = this.requireCollection(request.collection);
    const existing = this.documentRow(collection.id, request.documentId);
    if (existing) {
      const pendingSha = this.pendingSha(existing.pending_job_id);
      if (pendingSha === request.source.sha256) {
        return { document: toDocumentRecord(existing), jobId: existing.pending_job_id };
      }
      if (
        pendingSha === null &&
        existing.status === "ready" &&
        existing.source_sha256 === request.source.sha256
      ) {
        this.updateDescriptiveFields(existing, request, now);
        const current = this.documentRow(collection.id, request.documentId) as DocumentRow;
        return { document: toDocumentRecord(current), jobId: null };
      }
      if (existing.pending_job_id !== null) {
        this.sql("DELETE FROM jobs WHERE id = ? AND state = 'queued'").run(existing.pending_job_id);
      }
    }
    const jobId = Number(
      this.sql(
        `INSERT INTO jobs (collection_id, document_id, title, metadata, source_filename,
             source_media_type, source_bytes, source_sha256, payload, state, enqueued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)`,
      ).run(
        collection.id,
        request.documentId,
        request.title,
        JSON.stringify(request.metadata),
        request.source.filename,
        request.source.mediaType,
        request.source.bytes,
        request.source.sha256,
        Buffer.from(request.payload.buffer, request.payload.byteOffset, request.payload.byteLength),
        now,
      ).lastInsertRowid,
    );
    if (request.embeddingMode === "batch") {
      this.sql("UPDATE jobs SET embedding_mode = 'batch' WHERE id = ?").run(jobId);
    }
    if (request.chunking) {
      this.sql("UPDATE jobs SET chunking = ? WHERE id = ?").run(
        JSON.stringify(request.chunking),
        jobId,
      );
    }
    if (existing) {
      this.sql(
        "UPDATE documents SET status = 'queued', pending_job_id = ?, updated_at = ? WHERE key = ?",
      ).run(jobId, now, existing.key);
    } else {
      this.sql(
        `INSERT INTO documents (collection_id, external_id, title, metadata, status,
             source_filename, source_media_type, source_bytes, source_sha256, pending_job_id,
             created_at, updated_at)
           VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        collection.id,
        request.documentId,
        request.title,
        JSON.stringify(request.metadata),
        request.source.filename,
        request.source.mediaType,
        request.source.bytes,
        request.source.sha256,
        jobId,
        now,
        now,
      );
    }
    const document = this.documentRow(collection.id, request.documentId) as DocumentRow;
    return { document: toDocumentRecord(document), jobId };
  }

  async claimNextJob(): Promise<IngestJob | null> {
    return this.db.transaction((): IngestJob | null => {
      const row = this.sql<[], JobRow>(
        `SELECT j.*, c.name AS collection_name FROM jobs j JOIN collections c ON c.id = j.collection_id
           WHERE j.state = 'queued' ORDER BY j.id LIMIT 1`,
      ).get();
      if (!row) return null;
      this.sql("UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = ?").run(
        row.id,
      );
      this.sql(
        "UPDATE documents SET status = 'processing', updated_at = ? WHERE pending_job_id = ?",
      ).run(this.timestamp(), row.id);
      return withEmbeddingMode(toIngestJob({ ...row, attempts: row.attempts + 1 }), row);
    })();
  }

  async commitIngest(result: IngestResult): Promise<DocumentRecord | null> {
    const [outcome] = await this.commitIngestMany([result]);
    if (!outcome) throw new AppError("internal", "commitIngestMany returned no outcome.");
    if (!outcome.ok) throw outcome.error;
    return outcome.document;
  }

  async commitIngestMany(results: IngestResult[]): Promise<CommitOutcome[]> {
    const now = this.timestamp();
    // one transaction for all (one WAL commit, one FTS segment); a savepoint for each
    const writes = this.db.transaction(() =>
      results.map((result): CommittedWrite | { error: unknown } => {
        try {
          return this.db.transaction(() => this.writeCommit(result, now))();
        } catch (error) {
          return { error };
        }
      }),
    )();
    const outcomes: CommitOutcome[] = [];
    for (const [index, write] of writes.entries()) {
      const result = results[index] as IngestResult;
      if ("error" in write) {
        outcomes.push({ ok: false, error: write.error });
        continue;
      }
      if (write.collectionId !== null) {
        this.vectors.remove(write.collectionId, write.removed);
        this.vectors.add(write.collectionId, write.added);
        this.keywordIndexes.apply(
          write.collectionId,
          write.removed,
          write.added.map((chunk, ordinal) => ({
            chunkId: chunk.id,
            title: result.title ?? "",
            text: result.chunks[ordinal]?.text ?? "",
          })),
        );
      }
      const document =
        write.collectionId === null
          ? null
          : await this.getDocument(result.collection, result.documentId);
      outcomes.push({ ok: true, document });
    }
    return outcomes;
  }

  /** commitIngest's writes, inside a transaction; collectionId null when the job was dropped. */
  private writeCommit(result: IngestResult, now: string): CommittedWrite {
    const collection = this.requireCollection(result.collection);
    if (result.embedding) this.assertCurrentEmbedding(collection.id, result.embedding);
    for (const chunk of result.chunks) {
      if (chunk.vector.length !== collection.embedding_dimensions) {
        throw new AppError(
          "internal",
          `A chunk vector has ${chunk.vector.length} dimensions; collection "${collection.name}" expects ${collection.embedding_dimensions}.`,
        );
      }
    }
    const document = this.documentRow(collection.id, result.documentId);
    const job = this.sql<[number], JobRow>(
      "SELECT *, '' AS collection_name FROM jobs WHERE id = ?",
    ).get(result.jobId);
    this.sql("DELETE FROM jobs WHERE id = ?").run(result.jobId);
    if (!document || !job || document.pending_job_id !== result.jobId) {
      return { collectionId: null, removed: [], added: [] };
    }
    const removed = this.deleteChunksOf(document.key);
    const insertChunk = this.sql(
      `INSERT INTO chunks (collection_id, document_key, ordinal, text, char_start, char_end,
         page_start, page_end, token_count, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertFts = this.sql("INSERT INTO chunk_fts (rowid, title, text) VALUES (?, ?, ?)");
    const added: { id: number; vector: Float32Array }[] = [];
    result.chunks.forEach((chunk, ordinal) => {
      const vector = normalized(chunk.vector);
      const id = Number(
        insertChunk.run(
          collection.id,
          document.key,
          ordinal,
          chunk.text,
          chunk.charStart,
          chunk.charEnd,
          chunk.pageStart,
          chunk.pageEnd,
          chunk.tokenCount,
          vectorToBlob(vector),
        ).lastInsertRowid,
      );
      insertFts.run(id, result.title ?? "", chunk.text);
      added.push({ id, vector });
    });
    this.sql(
      `UPDATE documents SET title = ?, metadata = ?, status = 'ready', error = NULL,
           source_filename = ?, source_media_type = ?, source_bytes = ?, source_sha256 = ?,
           page_count = ?, chunk_count = ?, token_count = ?, embedding_tokens = ?,
           pending_job_id = NULL, has_ready_version = 1, updated_at = ?
         WHERE key = ?`,
    ).run(
      result.title,
      job.metadata,
      job.source_filename,
      job.source_media_type,
      job.source_bytes,
      job.source_sha256,
      result.pageCount,
      result.chunks.length,
      result.tokenCount,
      result.embeddingTokens,
      now,
      document.key,
    );
    this.bumpGeneration(collection.id);
    return { collectionId: collection.id, removed, added };
  }

  async failIngest(input: {
    jobId: number;
    collection: string;
    documentId: string;
    error: ErrorBody;
    discardNewDocument: boolean;
  }): Promise<DocumentRecord | null> {
    const collection = this.requireCollection(input.collection);
    this.db.transaction(() => {
      this.sql("DELETE FROM jobs WHERE id = ?").run(input.jobId);
      const document = this.documentRow(collection.id, input.documentId);
      if (!document || document.pending_job_id !== input.jobId) return;
      if (document.has_ready_version && input.discardNewDocument) {
        // the caller waited and gets the error itself: the stored version stays as it was
        this.sql("UPDATE documents SET status = 'ready', pending_job_id = NULL WHERE key = ?").run(
          document.key,
        );
      } else if (document.has_ready_version) {
        this.sql(
          "UPDATE documents SET status = 'ready', error = ?, pending_job_id = NULL, updated_at = ? WHERE key = ?",
        ).run(JSON.stringify(input.error), this.timestamp(), document.key);
      } else if (input.discardNewDocument) {
        this.sql("DELETE FROM documents WHERE key = ?").run(document.key);
      } else {
        this.sql(
          "UPDATE documents SET status = 'failed', error = ?, pending_job_id = NULL, updated_at = ? WHERE key = ?",
        ).run(JSON.stringify(input.error), this.timestamp(), document.key);
      }
    })();
    return this.getDocument(input.collection, input.documentId);
  }

  async requeueInterruptedJobs(): Promise<number> {
    const interrupted = this.sql<[], JobRow>(
      `SELECT j.*, c.name AS collection_name FROM jobs j JOIN collections c ON c.id = j.collection_id
         WHERE j.state = 'running' AND j.external_ref IS NULL`,
    ).all();
    let requeued = 0;
    for (const job of interrupted) {
      if (job.attempts >= this.options.maxJobAttempts) {
        await this.failIngest({
          jobId: job.id,
          collection: job.collection_name,
          documentId: job.document_id,
          error: {
            type: "unprocessable",
            message: `Processing this document was interrupted ${job.attempts} times; it was given up. Check the file and upload it again.`,
            param: null,
          },
          discardNewDocument: false,
        });
        continue;
      }
      this.db.transaction(() => {
        this.sql("UPDATE jobs SET state = 'queued' WHERE id = ?").run(job.id);
        this.sql("UPDATE documents SET status = 'queued' WHERE pending_job_id = ?").run(job.id);
      })();
      requeued++;
    }
    return requeued;
  }

  async countQueuedJobs(): Promise<number> {
    return this.sql<[], number>("SELECT count(*) FROM jobs").pluck().get() as number;
  }

  async deleteDocument(collection: string, id: string): Promise<boolean> {
    const collectionRow = this.requireCollection(collection);
    const removed = this.db.transaction((): number[] | null => {
      const document = this.documentRow(collectionRow.id, id);
      if (!document) return null;
      const chunkIds = this.deleteChunksOf(document.key);
      this.sql("DELETE FROM jobs WHERE collection_id = ? AND document_id = ?").run(
        collectionRow.id,
        id,
      );
      this.sql("DELETE FROM documents WHERE key = ?").run(document.key);
      this.bumpGeneration(collectionRow.id);
      return chunkIds;
    })();
    if (removed === null) return false;
    this.vectors.remove(collectionRow.id, removed);
    this.keywordIndexes.apply(collectionRow.id, removed, []);
    return true;
  }

  async updateDocumentMetadata(
    collection: string,
    id: string,
    metadata: Metadata,
  ): Promise<DocumentRecord | null> {
    const collectionRow = this.requireCollection(collection);
    const json = JSON.stringify(metadata);
    const changed = this.db.transaction(() => {
      const updated = this.sql(
        "UPDATE documents SET metadata = ?, updated_at = ? WHERE collection_id = ? AND external_id = ?",
      ).run(json, this.timestamp(), collectionRow.id, id).changes;
      this.sql("UPDATE jobs SET metadata = ? WHERE collection_id = ? AND document_id = ?").run(
        json,
        collectionRow.id,
        id,
      );
      return updated > 0;
    })();
    return changed ? this.getDocument(collection, id) : null;
  }

  async putOpenAIObject(object: OpenAIObject, content?: Uint8Array): Promise<void> {
    this.openaiObjects.put(object, content);
  }

  async getOpenAIObject(kind: string, parent: string, id: string): Promise<OpenAIObject | null> {
    return this.openaiObjects.get(kind, parent, id);
  }

  async getOpenAIContent(kind: string, parent: string, id: string): Promise<Uint8Array | null> {
    return this.openaiObjects.content(kind, parent, id);
  }

  async listOpenAIObjects(query: OpenAIObjectQuery): Promise<OpenAIObject[]> {
    return this.openaiObjects.list(query);
  }

  async deleteOpenAIObjects(query: OpenAIObjectQuery): Promise<number> {
    return this.openaiObjects.delete(query);
  }

  async keywordSearch(query: KeywordQuery): Promise<ScoredChunk[]> {
    const collection = this.requireCollection(query.collection);
    if (this.usesMemoryKeywordIndex) {
      // stop words are not in the memory index: a query of nothing else goes to FTS5
      // weighted by how often the query says each term (BM25's qtf): long requests that
      // repeat their topic rank by it (EVAL.md: +0.06 nDCG@10 on CISI, flat elsewhere)
      const terms = keywordQueryTerms(query.text, false);
      const ranked =
        terms.size > 0 ? this.rankInMemory(collection.id, terms, query.k, query.filter) : null;
      if (ranked) return ranked;
    }
    const match = toFtsMatchExpression(query.text, this.options.keywordStopWords);
    if (match === null) return [];
    const filter = metadataFilterToSql(query.filter);
    const { title, text } = this.options.keywordWeights;
    const bm25 = `bm25(chunk_fts, ${Number(title)}, ${Number(text)})`;
    // FTS5 holds every collection's chunks. Joining each match to chunks and documents before
    // the sort cost 5x the ranking itself (100k chunks), so rank the FTS table alone, keep the
    // top rows of this collection (and filter), and join only when too few of them survive
    const filtered = filter.sql !== "1";
    let depth = this.keywordDepth(query.collection, query.k);
    for (let attempt = 0; depth !== null && attempt < 2; attempt++) {
      const top = this.sql<[string, number], { id: number; rank: number }>(
        `SELECT rowid AS id, ${bm25} AS rank FROM chunk_fts WHERE chunk_fts MATCH ?
           ORDER BY rank LIMIT ?`,
      ).all(match, depth);
      // without a filter the (collection_id, id) index answers alone: reading the chunk rows
      // to reach their documents costs 8x as much at 100k chunks
      const documents = filtered ? "JOIN documents d ON d.key = ch.document_key" : "";
      const kept = new Set(
        this.sql<(string | number)[], number>(
          `SELECT ch.id FROM chunks ch ${documents}
             WHERE ch.id IN (SELECT value FROM json_each(?)) AND ch.collection_id = ? AND ${filter.sql}`,
        )
          .pluck()
          .all(JSON.stringify(top.map((row) => row.id)), collection.id, ...filter.params),
      );
      const rows = top.filter((row) => kept.has(row.id));
      // exact: these are the best of the collection unless rows beyond `depth` were needed
      if (rows.length >= query.k || top.length < depth) {
        return rows.slice(0, query.k).map((row) => ({ chunkId: row.id, score: -row.rank }));
      }
      // too few survived (a filter, or other collections' rows on top): once more, as deep as
      // the share that did survive suggests, unless it was so small that joining is cheaper
      const share = rows.length / top.length;
      depth = share >= MIN_KEPT_SHARE ? Math.ceil((query.k / share) * 1.25) : null;
    }
    const rows = this.sql<(string | number)[], { id: number; rank: number }>(
      `SELECT f.rowid AS id, ${bm25} AS rank
         FROM chunk_fts f
         JOIN chunks ch ON ch.id = f.rowid
         JOIN documents d ON d.key = ch.document_key
         WHERE chunk_fts MATCH ? AND ch.collection_id = ? AND ${filter.sql}
         ORDER BY rank LIMIT ?`,
    ).all(match, collection.id, ...filter.params, query.k);
    return rows.map((row) => ({ chunkId: row.id, score: -row.rank }));
  }

  async weightedKeywordSearch(query: WeightedKeywordQuery): Promise<ScoredChunk[] | null> {
    const collection = this.requireCollection(query.collection);
    if (!this.usesMemoryKeywordIndex) return null;
    return this.rankInMemory(collection.id, query.terms, query.k, query.filter);
  }

  /** The memory index needs the stop-word list (stop words are not indexed). */
  private get usesMemoryKeywordIndex(): boolean {
    return this.options.memoryKeywordIndex && this.options.keywordStopWords !== undefined;
  }

  /** Ranked by the collection's memory index; null while it is being built. */
  private rankInMemory(
    collectionId: number,
    terms: ReadonlyMap<string, number>,
    k: number,
    filter: KeywordQuery["filter"],
  ): ScoredChunk[] | null {
    const index = this.keywordIndexes.ready(
      collectionId,
      () =>
        this.sql<[number], number>("SELECT chunk_count FROM collections WHERE id = ?")
          .pluck()
          .get(collectionId) ?? 0,
    );
    if (!index) return null;
    const condition = metadataFilterToSql(filter);
    if (condition.sql === "1") return index.search(terms, k);
    const kept = this.sql<(string | number)[], number>(
      `SELECT ch.id FROM chunks ch JOIN documents d ON d.key = ch.document_key
         WHERE ch.id IN (SELECT value FROM json_each(?)) AND ${condition.sql}`,
    ).pluck();
    return index.search(
      terms,
      k,
      (ids) => new Set(kept.all(JSON.stringify(ids), ...condition.params)),
    );
  }

  /**
   * How many top FTS rows to rank before keeping this collection's: k scaled by the share of
   * all chunks the collection holds; null when that is too many and the joined query is cheaper.
   */
  private keywordDepth(collection: string, k: number): number | null {
    const total = this.countChunks();
    const own = this.collectionRow(collection)?.chunk_count ?? 0;
    if (own === 0 || total === 0) return null;
    const scale = Math.ceil(total / own);
    return scale > MAX_KEYWORD_DEPTH_SCALE ? null : k * scale;
  }

  private countChunks(): number {
    // counting is a scan of the whole table: keep the total until chunks change
    this.chunkTotal ??= this.sql<[], number>("SELECT count(*) FROM chunks").pluck().get() ?? 0;
    return this.chunkTotal;
  }

  /** fts5vocab reads FTS5's own statistics; a temp table, so no migration is needed. */
  private ensureVocabulary(): void {
    if (this.vocabularyReady) return;
    this.db.exec(
      "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_fts_vocab USING fts5vocab(main, chunk_fts, row)",
    );
    this.vocabularyReady = true;
  }

  async termStatistics(collection: string, terms: string[]): Promise<TermStatistics> {
    this.requireCollection(collection);
    this.ensureVocabulary();
    const chunkCount = this.countChunks();
    // one equality lookup per term: fts5vocab scans its whole vocabulary for an IN list
    const lookup = this.sql<[string], number>(
      "SELECT doc FROM temp.chunk_fts_vocab WHERE term = ?",
    ).pluck();
    // IDF barely moves while a collection grows a little, so frequencies are remembered until
    // the number of chunks drifts by more than 5% (each lookup costs about 0.1 ms)
    if (Math.abs(chunkCount - this.frequencyCacheBasis) > 0.05 * this.frequencyCacheBasis) {
      this.frequencyCache.clear();
      this.frequencyCacheBasis = chunkCount;
      this.warmFrequencies();
    }
    const documentFrequencies = new Map<string, number>();
    for (const term of new Set(terms)) {
      let frequency = this.frequencyCache.get(term);
      if (frequency === undefined) {
        frequency = lookup.get(term) ?? 0;
        if (this.frequencyCache.size >= 100_000) this.frequencyCache.clear();
        this.frequencyCache.set(term, frequency);
      }
      if (frequency > 0) documentFrequencies.set(term, frequency);
    }
    return { chunkCount, documentFrequencies };
  }

  async averageKeywordLength(collection: string): Promise<number> {
    this.requireCollection(collection);
    const chunkCount = this.countChunks();
    if (chunkCount === 0) return 0;
    // summing the vocabulary scans it once; like document frequencies, the mean barely moves
    // until the number of chunks drifts by 5%. (FTS5's own averages record is not used: with
    // contentless_delete it keeps counting deleted rows.)
    const cached = this.averageLengthCache;
    if (cached && Math.abs(chunkCount - cached.basis) <= 0.05 * cached.basis) return cached.value;
    this.ensureVocabulary();
    const tokens =
      this.sql<[], number>("SELECT total(cnt) FROM temp.chunk_fts_vocab").pluck().get() ?? 0;
    const value = tokens / chunkCount;
    this.averageLengthCache = { basis: chunkCount, value };
    return value;
  }

  /**
   * Fills the frequency cache from FTS5's vocabulary a page at a time between requests: one
   * lookup costs about 0.27 ms at 100k chunks (fts5vocab walks the term's whole doclist) and a
   * feedback step asks for up to 100 terms, while a page of 1,000 terms takes about 10 ms.
   */
  private warmFrequencies(): void {
    const basis = this.frequencyCacheBasis;
    const page = this.sql<[string, number], [string, number]>(
      "SELECT term, doc FROM temp.chunk_fts_vocab WHERE term > ? ORDER BY term LIMIT ?",
    ).raw();
    let after = "";
    const next = () => {
      if (!this.db.open || this.frequencyCacheBasis !== basis) return;
      const rows = page.all(after, VOCABULARY_PAGE);
      for (const [term, frequency] of rows) this.frequencyCache.set(term, frequency);
      const last = rows.at(-1);
      if (last && rows.length === VOCABULARY_PAGE && this.frequencyCache.size < MAX_WARM_TERMS) {
        after = last[0];
        setImmediate(next);
      }
    };
    setImmediate(next);
  }

  async vectorSearch(query: VectorQuery): Promise<ScoredChunk[]> {
    const collection = this.requireCollection(query.collection);
    // a query embedded just before a re-index swapped the vectors is answered by the old index
    const retired =
      query.vector.length !== collection.embedding_dimensions &&
      this.vectors.hasRetired(collection.id, query.vector.length);
    if (query.vector.length !== collection.embedding_dimensions && !retired) {
      throw new AppError(
        "invalid_request",
        `The query vector has ${query.vector.length} dimensions; the collection uses ${collection.embedding_dimensions}.`,
      );
    }
    if (!query.filter || Object.keys(query.filter).length === 0) {
      return this.vectors.search(collection.id, query.vector, query.k, { ef: query.ef });
    }
    const filter = metadataFilterToSql(query.filter);
    const allowedIds = this.sql<(string | number)[], number>(
      `SELECT ch.id FROM chunks ch JOIN documents d ON d.key = ch.document_key
         WHERE ch.collection_id = ? AND ${filter.sql}`,
    )
      .pluck()
      .all(collection.id, ...filter.params);
    // a collection held in memory scans just the allowed chunks; otherwise few allowed chunks
    // are read from SQLite and scanned, and many are left to the graph
    const inMemory = this.vectors.searchesExactly(collection.id, query.vector.length);
    if (!inMemory && !retired && allowedIds.length <= this.options.exactScanThreshold) {
      return this.vectors.exactSearch(query.vector, query.k, allowedIds);
    }
    return this.vectors.search(collection.id, query.vector, query.k, {
      ef: query.ef,
      allowed: new Set(allowedIds),
    });
  }

  async getChunks(chunkIds: number[]): Promise<ChunkRecord[]> {
    if (chunkIds.length === 0) return [];
    const rows = this.sql<[string], ChunkRow>(
      `SELECT ch.id, ch.ordinal, ch.text, ch.char_start, ch.char_end, ch.page_start, ch.page_end,
           ch.token_count, d.external_id, d.title, d.metadata, c.name AS collection_name
         FROM chunks ch JOIN documents d ON d.key = ch.document_key JOIN collections c ON c.id = ch.collection_id
         WHERE ch.id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(chunkIds));
    const byId = new Map(rows.map((row) => [row.id, toChunkRecord(row)]));
    return chunkIds.flatMap((id) => byId.get(id) ?? []);
  }

  async listDocumentChunks(collection: string, id: string): Promise<ChunkRecord[]> {
    const rows = this.sql<[number, string], ChunkRow>(
      `SELECT ch.id, ch.ordinal, ch.text, ch.char_start, ch.char_end, ch.page_start, ch.page_end,
           ch.token_count, d.external_id, d.title, d.metadata, c.name AS collection_name
         FROM chunks ch JOIN documents d ON d.key = ch.document_key JOIN collections c ON c.id = ch.collection_id
         WHERE d.collection_id = ? AND d.external_id = ? ORDER BY ch.ordinal`,
    ).all(this.requireCollection(collection).id, id);
    return rows.map(toChunkRecord);
  }

  async getCachedEmbeddings(
    key: EmbeddingCacheKey,
    textHashes: string[],
  ): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    if (textHashes.length === 0) return found;
    const rows = this.sql<
      [string, string, number, string],
      { text_sha256: string; vector: Buffer }
    >(
      `SELECT text_sha256, vector FROM embedding_cache
         WHERE provider = ? AND model = ? AND dimensions = ? AND text_sha256 IN (SELECT value FROM json_each(?))`,
    ).all(key.provider, key.model, key.dimensions, JSON.stringify(textHashes));
    for (const row of rows) found.set(row.text_sha256, blobToVector(row.vector));
    return found;
  }

  async putCachedEmbeddings(
    key: EmbeddingCacheKey,
    entries: { textHash: string; vector: Float32Array }[],
  ): Promise<void> {
    const insert = this.sql(
      `INSERT OR IGNORE INTO embedding_cache (provider, model, dimensions, text_sha256, vector)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const entry of entries) {
        insert.run(
          key.provider,
          key.model,
          key.dimensions,
          entry.textHash,
          vectorToBlob(entry.vector),
        );
      }
    })();
  }

  async parkJob(jobId: number, externalRef: string): Promise<boolean> {
    return (
      this.sql("UPDATE jobs SET external_ref = ? WHERE id = ? AND state = 'running'").run(
        externalRef,
        jobId,
      ).changes > 0
    );
  }

  async listParkedJobs(): Promise<ParkedJob[]> {
    return this.sql<[], JobRow & { embedding_mode: string; external_ref: string }>(
      `SELECT j.*, c.name AS collection_name FROM jobs j JOIN collections c ON c.id = j.collection_id
         WHERE j.state = 'running' AND j.external_ref IS NOT NULL ORDER BY j.id`,
    )
      .all()
      .map((row) => ({
        ...withEmbeddingMode(toIngestJob(row), row),
        externalRef: row.external_ref,
      }));
  }

  async listChunkTexts(
    collection: string,
    page: { afterChunkId?: number | undefined; limit: number },
  ): Promise<ChunkText[]> {
    const { id } = this.requireCollection(collection);
    return this.staging.listChunkTexts(id, page.afterChunkId ?? 0, page.limit);
  }

  async stageVectors(
    collection: string,
    embedding: EmbeddingConfig,
    entries: { chunkId: number; vector: Float32Array }[],
  ): Promise<void> {
    this.staging.stage(this.requireCollection(collection).id, embedding, entries);
  }

  async swapEmbedding(
    collection: string,
    input: { embedding: EmbeddingConfig; documentEmbeddingTokens: Map<string, number> },
  ): Promise<SwapOutcome> {
    const { id } = this.requireCollection(collection);
    const outcome = this.staging.swap(id, input.embedding, () => {
      const update = this.sql(
        "UPDATE documents SET embedding_tokens = ? WHERE collection_id = ? AND external_id = ?",
      );
      for (const [documentId, tokens] of input.documentEmbeddingTokens) {
        update.run(tokens, id, documentId);
      }
      this.bumpGeneration(id);
    });
    // the cached row carries the dimensions, which just changed
    this.collectionsByName.clear();
    return outcome;
  }

  async discardStagedVectors(collection: string): Promise<void> {
    this.staging.discard(this.requireCollection(collection).id);
  }

  private assertCurrentEmbedding(collectionId: number, embedding: EmbeddingConfig): void {
    const current = this.sql<
      [number],
      { embedding_provider: string; embedding_model: string; embedding_dimensions: number }
    >(
      "SELECT embedding_provider, embedding_model, embedding_dimensions FROM collections WHERE id = ?",
    ).get(collectionId);
    if (
      current &&
      (current.embedding_provider !== embedding.provider ||
        current.embedding_model !== embedding.model ||
        current.embedding_dimensions !== embedding.dimensions)
    ) {
      throw new AppError(
        "conflict",
        "The collection was re-indexed under a new embedding configuration while this document was being embedded.",
      );
    }
  }

  private deleteChunksOf(documentKey: number): number[] {
    const ids = this.sql<[number], number>("SELECT id FROM chunks WHERE document_key = ?")
      .pluck()
      .all(documentKey);
    if (ids.length > 0) {
      const list = JSON.stringify(ids);
      this.sql("DELETE FROM chunk_fts WHERE rowid IN (SELECT value FROM json_each(?))").run(list);
      this.sql("DELETE FROM chunks WHERE document_key = ?").run(documentKey);
    }
    return ids;
  }

  private updateDescriptiveFields(
    existing: DocumentRow,
    request: IngestRequest,
    now: string,
  ): void {
    const metadata = JSON.stringify(request.metadata);
    if (existing.title === request.title && existing.metadata === metadata) return;
    this.sql("UPDATE documents SET title = ?, metadata = ?, updated_at = ? WHERE key = ?").run(
      request.title,
      metadata,
      now,
      existing.key,
    );
  }

  private pendingSha(jobId: number | null): string | null {
    if (jobId === null) return null;
    return (
      this.sql<[number], string>("SELECT source_sha256 FROM jobs WHERE id = ?")
        .pluck()
        .get(jobId) ?? null
    );
  }

  private bumpGeneration(collectionId: number): void {
    this.chunkTotal = null;
    this.sql("UPDATE collections SET vector_generation = vector_generation + 1 WHERE id = ?").run(
      collectionId,
    );
  }

  private generationOf(collectionId: number): number | null {
    return (
      this.sql<[number], number>("SELECT vector_generation FROM collections WHERE id = ?")
        .pluck()
        .get(collectionId) ?? null
    );
  }

  private collectionRow(name: string): CollectionRow | undefined {
    return this.sql<[string], CollectionRow>(
      `SELECT ${COLLECTION_COLUMNS} FROM collections c WHERE c.name = ?`,
    ).get(name);
  }

  private requireCollection(name: string): {
    id: number;
    name: string;
    embedding_dimensions: number;
  } {
    const cached = this.collectionsByName.get(name);
    if (cached) return cached;
    const row = this.sql<[string], { id: number; name: string; embedding_dimensions: number }>(
      "SELECT id, name, embedding_dimensions FROM collections WHERE name = ?",
    ).get(name);
    if (!row)
      throw new AppError("not_found", `Collection "${name}" was not found.`, {
        param: "collection",
      });
    this.collectionsByName.set(name, row);
    return row;
  }

  private documentRow(collectionId: number, id: string): DocumentRow | undefined {
    return this.sql<[number, string], DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id
         WHERE d.collection_id = ? AND d.external_id = ?`,
    ).get(collectionId, id);
  }

  /** A prepared statement, compiled once per SQL text. */
  private sql<P extends unknown[] = unknown[], R = unknown>(
    source: string,
  ): Database.Statement<P, R> {
    let statement = this.statements.get(source);
    if (!statement) {
      // filters make SQL text vary with the request's shape; keep the cache bounded
      if (this.statements.size > 500) this.statements.clear();
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }

  private timestamp(): string {
    return this.options.now().toISOString();
  }
}

/** The rows a commit replaced and added, applied to the vector index after the transaction. */
interface CommittedWrite {
  collectionId: number | null;
  removed: number[];
  added: { id: number; vector: Float32Array }[];
}

/** What a backup wrote: paths relative to its directory, and their total size. */
export interface BackupReport {
  files: string[];
  bytes: number;
}

async function copyStoreFiles(
  db: Database.Database,
  indexDirectory: string,
  destination: string,
): Promise<BackupReport> {
  if (existsSync(destination) && readdirSync(destination).length > 0) {
    throw new AppError("conflict", `The backup destination ${destination} is not empty.`);
  }
  mkdirSync(join(destination, "indexes"), { recursive: true });
  // one step copies every page under one read snapshot; writers (WAL) are not blocked meanwhile
  await db.backup(join(destination, "gleaner.db"), { progress: () => 1 << 30 });
  const files = ["gleaner.db"];
  const indexFiles = existsSync(indexDirectory) ? readdirSync(indexDirectory) : [];
  for (const name of indexFiles) {
    if (name.endsWith(".tmp")) continue;
    try {
      copyFileSync(join(indexDirectory, name), join(destination, "indexes", name));
      files.push(`indexes/${name}`);
    } catch (error) {
      // a save replaced the file as we copied: the index is rebuilt from the database on restore
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
  }
  const bytes = files.reduce((sum, file) => sum + statSync(join(destination, file)).size, 0);
  return { files, bytes };
}

/** The job with its embedding mode, a column JobRow predates. */
function withEmbeddingMode(job: IngestJob, row: object): IngestJob {
  const { embedding_mode: mode, chunking } = row as {
    embedding_mode?: unknown;
    chunking?: unknown;
  };
  const withChunking =
    typeof chunking === "string"
      ? { ...job, chunking: JSON.parse(chunking) as ChunkingConfig }
      : job;
  return mode === "batch" ? { ...withChunking, embeddingMode: "batch" } : withChunking;
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Error &&
    "code" in error &&
    (error as { code: unknown }).code === "SQLITE_CONSTRAINT_UNIQUE"
  );
}
