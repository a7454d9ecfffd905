import type pg from "pg";
import type { ErrorBody } from "../../errors.ts";
import type { EmbeddingCacheKey, Metadata, NewCollection, OpenAIObject } from "../store.ts";
import { createPool, transaction } from "./database.ts";
import { migrate } from "./migrations.ts";
import { PostgresOpenAIObjects } from "./openai-objects.ts";
import { createIndexSql, type HnswBuildParameters, vectorLiteral } from "./vector-sql.ts";

/** One document as another backend holds it, with its chunks (vectors) or its pending upload. */
export interface ImportedDocument {
  id: string;
  title: string | null;
  metadata: Metadata;
  status: "queued" | "processing" | "ready" | "failed";
  error: ErrorBody | null;
  source: { filename: string | null; mediaType: string; bytes: number; sha256: string };
  pageCount: number | null;
  chunkCount: number;
  tokenCount: number;
  embeddingTokens: number;
  hasReadyVersion: boolean;
  createdAt: string;
  updatedAt: string;
  chunks: {
    ordinal: number;
    text: string;
    charStart: number;
    charEnd: number;
    pageStart: number | null;
    pageEnd: number | null;
    tokenCount: number;
    vector: Float32Array;
  }[];
  /** An upload not yet processed: queued again in PostgreSQL. */
  pendingJob: {
    title: string | null;
    metadata: Metadata;
    source: { filename: string | null; mediaType: string; bytes: number; sha256: string };
    payload: Uint8Array;
  } | null;
}

export type ImportOutcome =
  | { imported: true; documents: number; chunks: number }
  | { imported: false; reason: string };

const ROWS_PER_INSERT = 500;

/** Writes whole collections into a PostgreSQL database; each collection is one transaction. */
export class PostgresImporter {
  private pool!: pg.Pool;

  constructor(
    private readonly connectionString: string,
    private readonly hnsw: HnswBuildParameters = { m: 16, efConstruction: 64 },
  ) {}

  async open(): Promise<void> {
    this.pool = createPool(this.connectionString, 2);
    await migrate(this.pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Creates the collection and loads its documents; the HNSW index is built once at the end
   * (faster than growing it row by row). A collection that already holds documents is left alone;
   * an empty one with the same embedding (e.g. `default`, made by a replica) is filled.
   */
  async importCollection(
    collection: NewCollection & { createdAt: string },
    documents: Iterable<ImportedDocument>,
  ): Promise<ImportOutcome> {
    return transaction(this.pool, async (client): Promise<ImportOutcome> => {
      const { rows: existing } = await client.query<{
        id: number;
        embedding_provider: string;
        embedding_model: string;
        embedding_dimensions: number;
        documents: number;
      }>(
        `SELECT c.id, c.embedding_provider, c.embedding_model, c.embedding_dimensions,
             (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS documents
           FROM collections c WHERE c.name = $1 FOR UPDATE`,
        [collection.name],
      );
      let collectionId: number;
      const found = existing[0];
      if (found) {
        if (found.documents > 0) {
          return { imported: false, reason: `it already holds ${found.documents} documents` };
        }
        const same =
          found.embedding_provider === collection.embedding.provider &&
          found.embedding_model === collection.embedding.model &&
          found.embedding_dimensions === collection.embedding.dimensions;
        if (!same) return { imported: false, reason: "it exists with another embedding model" };
        collectionId = found.id;
      } else {
        const { rows } = await client.query<{ id: number }>(
          `INSERT INTO collections (name, description, embedding_provider, embedding_model,
               embedding_dimensions, chunk_max_tokens, chunk_overlap_tokens, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
          [
            collection.name,
            collection.description,
            collection.embedding.provider,
            collection.embedding.model,
            collection.embedding.dimensions,
            collection.chunking.maxTokens,
            collection.chunking.overlapTokens,
            collection.createdAt,
          ],
        );
        collectionId = (rows[0] as { id: number }).id;
      }
      let documentCount = 0;
      let chunkCount = 0;
      for (const document of documents) {
        await insertDocument(client, collectionId, document);
        documentCount++;
        chunkCount += document.chunks.length;
      }
      const ddl = createIndexSql(collectionId, collection.embedding.dimensions, this.hnsw);
      if (ddl) await client.query(ddl);
      return { imported: true, documents: documentCount, chunks: chunkCount };
    });
  }

  /** Copies objects of the OpenAI-compatible surface (with file bytes); returns how many. */
  async importOpenAIObjects(
    objects: Iterable<{ object: OpenAIObject; content: Uint8Array | null }>,
  ): Promise<number> {
    const target = new PostgresOpenAIObjects(this.pool);
    let count = 0;
    for (const { object, content } of objects) {
      await target.put(object, content ?? undefined);
      count += 1;
    }
    return count;
  }

  /** Adds cache entries (existing ones are kept); returns how many were given. */
  async importCache(
    entries: Iterable<{ key: EmbeddingCacheKey; textHash: string; vector: Uint8Array }>,
  ): Promise<number> {
    let count = 0;
    let batch: { key: EmbeddingCacheKey; textHash: string; vector: Uint8Array }[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.pool.query(
        `INSERT INTO embedding_cache (provider, model, dimensions, text_sha256, vector)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bytea[])
           ON CONFLICT DO NOTHING`,
        [
          batch.map((e) => e.key.provider),
          batch.map((e) => e.key.model),
          batch.map((e) => e.key.dimensions),
          batch.map((e) => e.textHash),
          batch.map((e) => Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength)),
        ],
      );
      batch = [];
    };
    for (const entry of entries) {
      batch.push(entry);
      count++;
      if (batch.length >= ROWS_PER_INSERT) await flush();
    }
    await flush();
    return count;
  }
}

async function insertDocument(
  client: pg.PoolClient,
  collectionId: number,
  document: ImportedDocument,
): Promise<void> {
  let pendingJobId: number | null = null;
  if (document.pendingJob) {
    const job = document.pendingJob;
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO jobs (collection_id, document_id, title, metadata, source_filename,
           source_media_type, source_bytes, source_sha256, payload, state, enqueued_at)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, 'queued', now()) RETURNING id`,
      [
        collectionId,
        document.id,
        job.title,
        JSON.stringify(job.metadata),
        job.source.filename,
        job.source.mediaType,
        job.source.bytes,
        job.source.sha256,
        Buffer.from(job.payload.buffer, job.payload.byteOffset, job.payload.byteLength),
      ],
    );
    pendingJobId = (rows[0] as { id: number }).id;
  }
  // an interrupted upload is queued again; without a pending job it cannot stay queued
  const status =
    pendingJobId !== null
      ? "queued"
      : document.status === "queued" || document.status === "processing"
        ? "failed"
        : document.status;
  const { rows } = await client.query<{ key: number }>(
    `INSERT INTO documents (collection_id, external_id, title, metadata, status, error,
         source_filename, source_media_type, source_bytes, source_sha256, page_count, chunk_count,
         token_count, embedding_tokens, pending_job_id, has_ready_version, created_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
         $17, $18) RETURNING key`,
    [
      collectionId,
      document.id,
      document.title,
      JSON.stringify(document.metadata),
      status,
      document.error === null ? null : JSON.stringify(document.error),
      document.source.filename,
      document.source.mediaType,
      document.source.bytes,
      document.source.sha256,
      document.pageCount,
      document.chunkCount,
      document.tokenCount,
      document.embeddingTokens,
      pendingJobId,
      document.hasReadyVersion,
      document.createdAt,
      document.updatedAt,
    ],
  );
  const key = (rows[0] as { key: number }).key;
  for (let start = 0; start < document.chunks.length; start += ROWS_PER_INSERT) {
    const batch = document.chunks.slice(start, start + ROWS_PER_INSERT);
    await client.query(
      `INSERT INTO chunks (collection_id, document_key, ordinal, title, text, char_start, char_end,
           page_start, page_end, token_count, embedding)
         SELECT $1, $2, t.ordinal, $3, t.text, t.char_start, t.char_end, t.page_start, t.page_end,
             t.token_count, t.embedding::vector
           FROM unnest($4::int[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[],
                       $11::text[])
             AS t(ordinal, text, char_start, char_end, page_start, page_end, token_count, embedding)`,
      [
        collectionId,
        key,
        document.title,
        batch.map((c) => c.ordinal),
        batch.map((c) => c.text),
        batch.map((c) => c.charStart),
        batch.map((c) => c.charEnd),
        batch.map((c) => c.pageStart),
        batch.map((c) => c.pageEnd),
        batch.map((c) => c.tokenCount),
        batch.map((c) => vectorLiteral(c.vector)),
      ],
    );
  }
}
