import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { EmbeddingConfig } from "../../embed/embedding-model.ts";
import { AppError, type ErrorBody } from "../../errors.ts";
import { queryTerms } from "../sqlite/fts-query.ts";
import type {
  ChunkRecord,
  CollectionRecord,
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
  VectorQuery,
} from "../store.ts";
import { blobToVector, vectorToBlob } from "../vector-codec.ts";
import { keywordHits, replaceChunks, searchVectors } from "./chunk-queries.ts";
import {
  createPool,
  FOREIGN_KEY_VIOLATION,
  sqlState,
  transaction,
  UNIQUE_VIOLATION,
} from "./database.ts";
import {
  claimJob,
  DOCUMENT_COLUMNS,
  documentRow,
  enqueueJob,
  expiredJobs,
  failJob,
  type LeaseSettings,
  releaseReplica,
  renewLeases,
  requeueJob,
} from "./job-queue.ts";
import { migrate } from "./migrations.ts";
import { PostgresOpenAIObjects } from "./openai-objects.ts";
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
import { createIndexSql, type HnswBuildParameters, indexName } from "./vector-sql.ts";

export interface PostgresStoreOptions {
  connectionString: string;
  /** Connections this replica may hold; N replicas hold up to N × poolSize. */
  poolSize?: number;
  hnsw?: Partial<HnswBuildParameters>;
  /** Default `hnsw.ef_search` when a query does not name one. */
  efSearch?: number;
  /** A filter admitting at most this many chunks is answered by an exact scan instead of HNSW. */
  exactScanThreshold?: number;
  /**
   * A collection (or filtered set) whose chunks × dimensions is at most this is scanned
   * exactly instead of through HNSW; 0 turns that off (see SqliteStoreOptions).
   */
  exactSearchBudget?: number;
  /** How long a claimed job stays this replica's without a heartbeat. */
  leaseSeconds?: number;
  /** Jobs interrupted this many times are failed instead of retried again. */
  maxJobAttempts?: number;
  /** Query words left out of keyword matching (they still count in vectors). */
  keywordStopWords?: ReadonlySet<string>;
}

const COLLECTION_COLUMNS = `
  c.*,
  (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS document_count,
  (SELECT coalesce(sum(chunk_count), 0)::bigint FROM documents d WHERE d.collection_id = c.id) AS chunk_count,
  (SELECT coalesce(sum(embedding_tokens), 0)::bigint FROM documents d WHERE d.collection_id = c.id) AS embedding_tokens`;

interface CollectionKey {
  id: number;
  name: string;
  embedding_dimensions: number;
}

/**
 * The scale-out backend: PostgreSQL + pgvector, shared by any number of stateless replicas.
 * Every write is one READ COMMITTED transaction; cross-replica races are settled by row locks
 * (FOR UPDATE on the document), unique constraints and SKIP LOCKED job claims.
 */
export class PostgresStore implements Store {
  private pool!: pg.Pool;
  private openaiObjects!: PostgresOpenAIObjects;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly lease: LeaseSettings;
  private readonly options: Required<Omit<PostgresStoreOptions, "hnsw" | "keywordStopWords">> & {
    hnsw: HnswBuildParameters;
    keywordStopWords: ReadonlySet<string> | undefined;
  };

  constructor(options: PostgresStoreOptions) {
    this.options = {
      connectionString: options.connectionString,
      poolSize: options.poolSize ?? 10,
      hnsw: { m: 16, efConstruction: 64, ...options.hnsw },
      efSearch: options.efSearch ?? 64,
      exactScanThreshold: options.exactScanThreshold ?? 2_000,
      exactSearchBudget: options.exactSearchBudget ?? 5_120_000,
      leaseSeconds: options.leaseSeconds ?? 60,
      maxJobAttempts: options.maxJobAttempts ?? 3,
      keywordStopWords: options.keywordStopWords,
    };
    this.lease = { replica: randomUUID(), leaseSeconds: this.options.leaseSeconds };
  }

  async open(): Promise<void> {
    this.pool = createPool(this.options.connectionString, this.options.poolSize);
    this.openaiObjects = new PostgresOpenAIObjects(this.pool);
    await migrate(this.pool);
    const beatMs = Math.max(200, (this.options.leaseSeconds * 1000) / 3);
    this.heartbeat = setInterval(() => {
      renewLeases(this.pool, this.lease).catch(() => undefined);
    }, beatMs);
    this.heartbeat.unref();
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (!this.pool || this.pool.ended) return;
    await releaseReplica(this.pool, this.lease.replica).catch(() => undefined);
    await this.pool.end();
  }

  async createCollection(input: NewCollection): Promise<CollectionRecord> {
    try {
      const created = await transaction(this.pool, async (client) => {
        const { rows } = await client.query<{ id: number; created_at: Date }>(
          `INSERT INTO collections (name, description, embedding_provider, embedding_model,
               embedding_dimensions, chunk_max_tokens, chunk_overlap_tokens, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) RETURNING id, created_at`,
          [
            input.name,
            input.description,
            input.embedding.provider,
            input.embedding.model,
            input.embedding.dimensions,
            input.chunking.maxTokens,
            input.chunking.overlapTokens,
          ],
        );
        const row = rows[0] as { id: number; created_at: Date };
        const ddl = createIndexSql(row.id, input.embedding.dimensions, this.options.hnsw);
        if (ddl) await client.query(ddl);
        return row;
      });
      return {
        ...input,
        createdAt: created.created_at.toISOString(),
        documentCount: 0,
        chunkCount: 0,
        embeddingTokens: 0,
      };
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) {
        throw new AppError("conflict", `A collection named "${input.name}" already exists.`, {
          param: "name",
        });
      }
      throw error;
    }
  }

  async getCollection(name: string): Promise<CollectionRecord | null> {
    const { rows } = await this.pool.query<CollectionRow>(
      `SELECT ${COLLECTION_COLUMNS} FROM collections c WHERE c.name = $1`,
      [name],
    );
    return rows[0] ? toCollectionRecord(rows[0]) : null;
  }

  async listCollections(): Promise<CollectionRecord[]> {
    const { rows } = await this.pool.query<CollectionRow>(
      `SELECT ${COLLECTION_COLUMNS} FROM collections c ORDER BY name`,
    );
    return rows.map(toCollectionRecord);
  }

  async deleteCollection(name: string): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: number }>(
        "DELETE FROM collections WHERE name = $1 RETURNING id",
        [name],
      );
      const row = rows[0];
      if (!row) return false;
      await client.query(`DROP INDEX IF EXISTS ${indexName(row.id)}`);
      return true;
    });
  }

  async getDocument(collection: string, id: string): Promise<DocumentRecord | null> {
    const row = await documentRow(this.pool, (await this.requireCollection(collection)).id, id);
    return row ? toDocumentRecord(row) : null;
  }

  async listDocuments(
    collection: string,
    page: { limit: number; after?: string | undefined },
  ): Promise<DocumentPage> {
    const collectionId = (await this.requireCollection(collection)).id;
    const { rows } = await this.pool.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id
         WHERE d.collection_id = $1 AND d.external_id COLLATE "C" > $2
         ORDER BY d.external_id COLLATE "C" LIMIT $3`,
      [collectionId, page.after ?? "", page.limit + 1],
    );
    return {
      documents: rows.slice(0, page.limit).map(toDocumentRecord),
      hasMore: rows.length > page.limit,
    };
  }

  async enqueueIngest(request: IngestRequest): Promise<EnqueueOutcome> {
    const collection = await this.requireCollection(request.collection);
    try {
      return await enqueueJob(this.pool, collection.id, request, this.lease.replica);
    } catch (error) {
      // another replica deleted the collection after it was looked up
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) throw collectionNotFound(request.collection);
      throw error;
    }
  }

  async claimNextJob(): Promise<IngestJob | null> {
    for (;;) {
      const claimed = await claimJob(this.pool, this.lease);
      if (!claimed) return null;
      const { job, wasInterrupted } = claimed;
      // attempts were counted up by this claim; the previous ones all died mid-way
      if (!wasInterrupted || job.attempts - 1 < this.options.maxJobAttempts) return job;
      await this.giveUp(job.jobId, job.collection, job.documentId, job.attempts - 1);
    }
  }

  async commitIngest(result: IngestResult): Promise<DocumentRecord | null> {
    const collection = await this.requireCollection(result.collection);
    if (result.embedding) await this.assertCurrentEmbedding(collection.id, result.embedding);
    for (const chunk of result.chunks) {
      if (chunk.vector.length !== collection.embedding_dimensions) {
        throw new AppError(
          "internal",
          `A chunk vector has ${chunk.vector.length} dimensions; collection "${collection.name}" expects ${collection.embedding_dimensions}.`,
        );
      }
    }
    const committed = await transaction(this.pool, async (client) => {
      // the document row lock orders this commit against uploads, deletes and other commits
      const document = await documentRow(client, collection.id, result.documentId, true);
      const { rows } = await client.query<{
        metadata: unknown;
        source_filename: string | null;
        source_media_type: string;
        source_bytes: number;
        source_sha256: string;
      }>(
        `DELETE FROM jobs WHERE id = $1
           RETURNING metadata, source_filename, source_media_type, source_bytes, source_sha256`,
        [result.jobId],
      );
      const job = rows[0];
      if (!document || !job || document.pending_job_id !== result.jobId) return false;
      await replaceChunks(client, {
        collectionId: collection.id,
        documentKey: document.key,
        title: result.title,
        chunks: result.chunks,
      });
      await client.query(
        `UPDATE documents SET title = $1, metadata = $2::jsonb, status = 'ready', error = NULL,
             source_filename = $3, source_media_type = $4, source_bytes = $5, source_sha256 = $6,
             page_count = $7, chunk_count = $8, token_count = $9, embedding_tokens = $10,
             pending_job_id = NULL, has_ready_version = true, updated_at = now()
           WHERE key = $11`,
        [
          result.title,
          JSON.stringify(job.metadata),
          job.source_filename,
          job.source_media_type,
          job.source_bytes,
          job.source_sha256,
          result.pageCount,
          result.chunks.length,
          result.tokenCount,
          result.embeddingTokens,
          document.key,
        ],
      );
      return true;
    });
    return committed ? this.getDocument(result.collection, result.documentId) : null;
  }

  async failIngest(input: {
    jobId: number;
    collection: string;
    documentId: string;
    error: ErrorBody;
    discardNewDocument: boolean;
  }): Promise<DocumentRecord | null> {
    const collection = await this.requireCollection(input.collection);
    await failJob(this.pool, { ...input, collectionId: collection.id }, input.discardNewDocument);
    return this.getDocument(input.collection, input.documentId);
  }

  /**
   * Requeues only jobs whose lease expired: their replica is gone. Jobs that live replicas are
   * running keep being renewed by those replicas' heartbeats and are left alone.
   */
  async requeueInterruptedJobs(): Promise<number> {
    let requeued = 0;
    for (const job of await expiredJobs(this.pool)) {
      if (job.attempts >= this.options.maxJobAttempts) {
        await this.giveUp(job.id, job.collection_name, job.document_id, job.attempts);
      } else if (await requeueJob(this.pool, job.id)) {
        requeued++;
      }
    }
    return requeued;
  }

  async countQueuedJobs(): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>("SELECT count(*) FROM jobs");
    return rows[0]?.count ?? 0;
  }

  async deleteDocument(collection: string, id: string): Promise<boolean> {
    const collectionId = (await this.requireCollection(collection)).id;
    return transaction(this.pool, async (client) => {
      const document = await documentRow(client, collectionId, id, true);
      if (!document) return false;
      await client.query("DELETE FROM jobs WHERE collection_id = $1 AND document_id = $2", [
        collectionId,
        id,
      ]);
      // chunks go with the document (ON DELETE CASCADE)
      await client.query("DELETE FROM documents WHERE key = $1", [document.key]);
      return true;
    });
  }

  async updateDocumentMetadata(
    collection: string,
    id: string,
    metadata: Metadata,
  ): Promise<DocumentRecord | null> {
    const collectionId = (await this.requireCollection(collection)).id;
    const json = JSON.stringify(metadata);
    const updated = await transaction(this.pool, async (client) => {
      const result = await client.query(
        `UPDATE documents SET metadata = $1::jsonb, updated_at = now()
           WHERE collection_id = $2 AND external_id = $3`,
        [json, collectionId, id],
      );
      await client.query(
        "UPDATE jobs SET metadata = $1::jsonb WHERE collection_id = $2 AND document_id = $3",
        [json, collectionId, id],
      );
      return (result.rowCount ?? 0) > 0;
    });
    return updated ? this.getDocument(collection, id) : null;
  }

  async putOpenAIObject(object: OpenAIObject, content?: Uint8Array): Promise<void> {
    await this.openaiObjects.put(object, content);
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
    const collection = await this.requireCollection(query.collection);
    const terms = queryTerms(query.text);
    const stopWords = this.options.keywordStopWords;
    const kept = stopWords ? terms.filter((term) => !stopWords.has(term)) : terms;
    const chosen = kept.length > 0 ? kept : terms;
    if (chosen.length === 0) return [];
    return keywordHits(this.pool, {
      collectionId: collection.id,
      terms: chosen,
      k: query.k,
      filter: query.filter,
    });
  }

  async vectorSearch(query: VectorQuery): Promise<ScoredChunk[]> {
    const collection = await this.requireCollection(query.collection);
    if (query.vector.length !== collection.embedding_dimensions) {
      throw new AppError(
        "invalid_request",
        `The query vector has ${query.vector.length} dimensions; the collection uses ${collection.embedding_dimensions}.`,
      );
    }
    return searchVectors(this.pool, {
      collectionId: collection.id,
      dimensions: collection.embedding_dimensions,
      vector: query.vector,
      k: query.k,
      filter: query.filter,
      efSearch: query.ef ?? this.options.efSearch,
      exactScanThreshold: this.options.exactScanThreshold,
      exactCollectionChunks: Math.floor(
        this.options.exactSearchBudget / collection.embedding_dimensions,
      ),
    });
  }

  async parkJob(jobId: number, externalRef: string): Promise<boolean> {
    const updated = await this.pool.query(
      "UPDATE jobs SET external_ref = $1 WHERE id = $2 AND state = 'running'",
      [externalRef, jobId],
    );
    return (updated.rowCount ?? 0) > 0;
  }

  /**
   * Every parked job, whichever replica parked it: a resumed batch is idempotent (the first
   * commit wins, later ones find the job gone and are dropped).
   */
  async listParkedJobs(): Promise<ParkedJob[]> {
    const { rows } = await this.pool.query<JobRow & { external_ref: string }>(
      `SELECT j.*, c.name AS collection_name FROM jobs j JOIN collections c ON c.id = j.collection_id
         WHERE j.state = 'running' AND j.external_ref IS NOT NULL ORDER BY j.id`,
    );
    return rows.map((row) => ({ ...toIngestJob(row), externalRef: row.external_ref }));
  }

  async getChunks(chunkIds: number[]): Promise<ChunkRecord[]> {
    if (chunkIds.length === 0) return [];
    const { rows } = await this.pool.query<ChunkRow>(
      `SELECT ch.id, ch.ordinal, ch.text, ch.char_start, ch.char_end, ch.page_start, ch.page_end,
           ch.token_count, d.external_id, d.title, d.metadata, c.name AS collection_name
         FROM chunks ch JOIN documents d ON d.key = ch.document_key JOIN collections c ON c.id = ch.collection_id
         WHERE ch.id = ANY($1::bigint[])`,
      [chunkIds],
    );
    const byId = new Map(rows.map((row) => [row.id, toChunkRecord(row)]));
    return chunkIds.flatMap((id) => byId.get(id) ?? []);
  }

  async listDocumentChunks(collection: string, id: string): Promise<ChunkRecord[]> {
    const collectionId = (await this.requireCollection(collection)).id;
    const { rows } = await this.pool.query<ChunkRow>(
      `SELECT ch.id, ch.ordinal, ch.text, ch.char_start, ch.char_end, ch.page_start, ch.page_end,
           ch.token_count, d.external_id, d.title, d.metadata, c.name AS collection_name
         FROM chunks ch JOIN documents d ON d.key = ch.document_key JOIN collections c ON c.id = ch.collection_id
         WHERE d.collection_id = $1 AND d.external_id = $2 ORDER BY ch.ordinal`,
      [collectionId, id],
    );
    return rows.map(toChunkRecord);
  }

  async getCachedEmbeddings(
    key: EmbeddingCacheKey,
    textHashes: string[],
  ): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    if (textHashes.length === 0) return found;
    const { rows } = await this.pool.query<{ text_sha256: string; vector: Buffer }>(
      `SELECT text_sha256, vector FROM embedding_cache
         WHERE provider = $1 AND model = $2 AND dimensions = $3 AND text_sha256 = ANY($4::text[])`,
      [key.provider, key.model, key.dimensions, textHashes],
    );
    for (const row of rows) found.set(row.text_sha256, blobToVector(row.vector));
    return found;
  }

  async putCachedEmbeddings(
    key: EmbeddingCacheKey,
    entries: { textHash: string; vector: Float32Array }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO embedding_cache (provider, model, dimensions, text_sha256, vector)
         SELECT $1, $2, $3, e.hash, e.vector FROM unnest($4::text[], $5::bytea[]) AS e(hash, vector)
         ON CONFLICT DO NOTHING`,
      [
        key.provider,
        key.model,
        key.dimensions,
        entries.map((entry) => entry.textHash),
        entries.map((entry) => vectorToBlob(entry.vector)),
      ],
    );
  }

  private async giveUp(
    jobId: number,
    collection: string,
    documentId: string,
    attempts: number,
  ): Promise<void> {
    await this.failIngest({
      jobId,
      collection,
      documentId,
      error: {
        type: "unprocessable",
        message: `Processing this document was interrupted ${attempts} times; it was given up. Check the file and upload it again.`,
        param: null,
      },
      discardNewDocument: false,
    });
  }

  private async assertCurrentEmbedding(
    collectionId: number,
    embedding: EmbeddingConfig,
  ): Promise<void> {
    const { rows } = await this.pool.query<{
      embedding_provider: string;
      embedding_model: string;
      embedding_dimensions: number;
    }>(
      "SELECT embedding_provider, embedding_model, embedding_dimensions FROM collections WHERE id = $1",
      [collectionId],
    );
    const current = rows[0];
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

  private async requireCollection(name: string): Promise<CollectionKey> {
    const { rows } = await this.pool.query<CollectionKey>(
      "SELECT id, name, embedding_dimensions FROM collections WHERE name = $1",
      [name],
    );
    const row = rows[0];
    if (!row) throw collectionNotFound(name);
    return row;
  }
}

function collectionNotFound(name: string): AppError {
  return new AppError("not_found", `Collection "${name}" was not found.`, { param: "collection" });
}
