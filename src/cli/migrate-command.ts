import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { AppError, type ErrorBody } from "../errors.ts";
import { type ImportedDocument, PostgresImporter } from "../store/postgres/bulk-import.ts";
import type { Metadata } from "../store/store.ts";
import { blobToVector } from "../store/vector-codec.ts";

export interface MigrateSummary {
  collections: { name: string; documents: number; chunks: number; skipped: string | null }[];
  cacheEntries: number;
  seconds: number;
}

interface SqliteCollection {
  id: number;
  name: string;
  description: string;
  embedding_provider: string;
  embedding_model: string;
  embedding_dimensions: number;
  chunk_max_tokens: number;
  chunk_overlap_tokens: number;
  created_at: string;
}

interface SqliteDocument {
  key: number;
  external_id: string;
  title: string | null;
  metadata: string;
  status: ImportedDocument["status"];
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

interface SqliteJob {
  title: string | null;
  metadata: string;
  source_filename: string | null;
  source_media_type: string;
  source_bytes: number;
  source_sha256: string;
  payload: Buffer;
}

interface SqliteChunk {
  ordinal: number;
  text: string;
  char_start: number;
  char_end: number;
  page_start: number | null;
  page_end: number | null;
  token_count: number;
  vector: Buffer;
}

/**
 * Copies the SQLite data directory's collections (documents, chunks with their vectors, pending
 * uploads) and the embedding cache into PostgreSQL. SQLite is only read, so it can run beside a
 * live server; each collection moves in one transaction, so a failure leaves none half-copied.
 */
export async function migrateToPostgres(options: {
  dataDir: string;
  to: string;
  collection?: string | undefined;
  onProgress?: (line: string) => void;
}): Promise<MigrateSummary> {
  const started = performance.now();
  const file = join(options.dataDir, "gleaner.db");
  if (!existsSync(file)) {
    throw new AppError("not_found", `No Gleaner database at ${file} (set GLEANER_DATA_DIR).`);
  }
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  const importer = new PostgresImporter(options.to);
  await importer.open();
  try {
    const collections = sqlite
      .prepare<[], SqliteCollection>("SELECT * FROM collections ORDER BY name")
      .all()
      .filter((row) => options.collection === undefined || row.name === options.collection);
    if (options.collection !== undefined && collections.length === 0) {
      throw new AppError("not_found", `Collection "${options.collection}" was not found.`);
    }
    const summary: MigrateSummary = { collections: [], cacheEntries: 0, seconds: 0 };
    for (const row of collections) {
      const outcome = await importer.importCollection(
        {
          name: row.name,
          description: row.description,
          embedding: {
            provider: row.embedding_provider === "openai" ? "openai" : "local",
            model: row.embedding_model,
            dimensions: row.embedding_dimensions,
          },
          chunking: { maxTokens: row.chunk_max_tokens, overlapTokens: row.chunk_overlap_tokens },
          createdAt: row.created_at,
        },
        readDocuments(sqlite, row.id),
      );
      const entry = outcome.imported
        ? { name: row.name, documents: outcome.documents, chunks: outcome.chunks, skipped: null }
        : { name: row.name, documents: 0, chunks: 0, skipped: outcome.reason };
      summary.collections.push(entry);
      options.onProgress?.(
        entry.skipped === null
          ? `${row.name}: ${entry.documents} documents, ${entry.chunks} chunks`
          : `${row.name}: skipped, ${entry.skipped}`,
      );
    }
    summary.cacheEntries = await importer.importCache(readCache(sqlite));
    if (options.collection === undefined) {
      const objects = await importer.importOpenAIObjects(readOpenAIObjects(sqlite));
      if (objects > 0) options.onProgress?.(`OpenAI-compatible objects: ${objects}`);
    }
    summary.seconds = (performance.now() - started) / 1000;
    return summary;
  } finally {
    sqlite.close();
    await importer.close();
  }
}

function* readDocuments(
  sqlite: Database.Database,
  collectionId: number,
): Generator<ImportedDocument> {
  // all(), not iterate(): better-sqlite3 runs no other statement while an iterator is open
  const documents = sqlite
    .prepare<[number], SqliteDocument>(
      "SELECT * FROM documents WHERE collection_id = ? ORDER BY key",
    )
    .all(collectionId);
  const chunksOf = sqlite.prepare<[number], SqliteChunk>(
    `SELECT ordinal, text, char_start, char_end, page_start, page_end, token_count, vector
       FROM chunks WHERE document_key = ? ORDER BY ordinal`,
  );
  const jobOf = sqlite.prepare<[number], SqliteJob>("SELECT * FROM jobs WHERE id = ?");
  for (const row of documents) {
    const job = row.pending_job_id === null ? undefined : jobOf.get(row.pending_job_id);
    yield {
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
      hasReadyVersion: row.has_ready_version === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      chunks: chunksOf.all(row.key).map((chunk) => ({
        ordinal: chunk.ordinal,
        text: chunk.text,
        charStart: chunk.char_start,
        charEnd: chunk.char_end,
        pageStart: chunk.page_start,
        pageEnd: chunk.page_end,
        tokenCount: chunk.token_count,
        vector: blobToVector(chunk.vector),
      })),
      pendingJob: job
        ? {
            title: job.title,
            metadata: JSON.parse(job.metadata) as Metadata,
            source: {
              filename: job.source_filename,
              mediaType: job.source_media_type,
              bytes: job.source_bytes,
              sha256: job.source_sha256,
            },
            payload: new Uint8Array(job.payload),
          }
        : null,
    };
  }
}

/** Uploaded files, vector store settings and file batches (absent from older databases). */
function* readOpenAIObjects(sqlite: Database.Database) {
  const table = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'openai_objects'")
    .get();
  if (!table) return;
  const rows = sqlite
    .prepare<
      [],
      {
        kind: string;
        parent: string;
        id: string;
        created_at: number;
        body: string;
        content: Buffer | null;
      }
    >("SELECT kind, parent, id, created_at, body, content FROM openai_objects ORDER BY seq")
    .all();
  for (const row of rows) {
    yield {
      object: {
        kind: row.kind,
        parent: row.parent,
        id: row.id,
        createdAt: row.created_at,
        body: JSON.parse(row.body) as Record<string, unknown>,
      },
      content: row.content ? new Uint8Array(row.content) : null,
    };
  }
}

function* readCache(sqlite: Database.Database) {
  const rows = sqlite
    .prepare<
      [],
      { provider: string; model: string; dimensions: number; text_sha256: string; vector: Buffer }
    >("SELECT * FROM embedding_cache")
    .iterate();
  for (const row of rows) {
    yield {
      key: { provider: row.provider, model: row.model, dimensions: row.dimensions },
      textHash: row.text_sha256,
      vector: new Uint8Array(row.vector),
    };
  }
}
