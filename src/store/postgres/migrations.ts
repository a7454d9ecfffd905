import type { Pool } from "pg";

/** Schema versions in order; version N is MIGRATIONS[N - 1]. Never edit a released one. */
const MIGRATIONS: string[] = [
  `
  CREATE EXTENSION IF NOT EXISTS vector;

  CREATE TABLE collections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    embedding_provider text NOT NULL,
    embedding_model text NOT NULL,
    embedding_dimensions integer NOT NULL,
    chunk_max_tokens integer NOT NULL,
    chunk_overlap_tokens integer NOT NULL,
    created_at timestamptz NOT NULL
  );

  CREATE TABLE documents (
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    -- byte order, as SQLite compares: the listing cursor pages over the unique index
    external_id text COLLATE "C" NOT NULL,
    title text,
    metadata jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    error jsonb,
    source_filename text,
    source_media_type text NOT NULL,
    source_bytes bigint NOT NULL,
    source_sha256 text NOT NULL,
    page_count integer,
    chunk_count integer NOT NULL DEFAULT 0,
    token_count integer NOT NULL DEFAULT 0,
    embedding_tokens bigint NOT NULL DEFAULT 0,
    -- the upload being processed; a job whose id no longer matches was superseded
    pending_job_id bigint,
    has_ready_version boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- two replicas creating the same document id: one insert wins, the other retries
    UNIQUE (collection_id, external_id)
  );

  -- embedding is an untyped vector: each collection has its own dimension and its own partial
  -- HNSW index over (embedding::vector(d)) WHERE collection_id = N, created with the collection
  CREATE TABLE chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    document_key bigint NOT NULL REFERENCES documents(key) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    title text,
    text text NOT NULL,
    char_start integer NOT NULL,
    char_end integer NOT NULL,
    page_start integer,
    page_end integer,
    token_count integer NOT NULL,
    embedding vector NOT NULL,
    search_text tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('english', text), 'B')
    ) STORED
  );
  CREATE INDEX chunks_by_document ON chunks (document_key, ordinal);
  CREATE INDEX chunks_by_collection ON chunks (collection_id, id);
  CREATE INDEX chunks_search_text ON chunks USING gin (search_text);

  CREATE TABLE jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    document_id text NOT NULL,
    title text,
    metadata jsonb NOT NULL,
    source_filename text,
    source_media_type text NOT NULL,
    source_bytes bigint NOT NULL,
    source_sha256 text NOT NULL,
    payload bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'running')),
    attempts integer NOT NULL DEFAULT 0,
    enqueued_at timestamptz NOT NULL,
    -- the replica (store instance) that queued it gets the first chance to run it
    enqueued_by text,
    -- the replica running it and until when its lease holds; heartbeats extend the lease
    claimed_by text,
    claimed_at timestamptz,
    lease_expires_at timestamptz
  );
  CREATE INDEX jobs_by_state ON jobs (state, id);
  CREATE INDEX jobs_by_document ON jobs (collection_id, document_id);

  CREATE TABLE embedding_cache (
    provider text NOT NULL,
    model text NOT NULL,
    dimensions integer NOT NULL,
    text_sha256 text NOT NULL,
    vector bytea NOT NULL,
    PRIMARY KEY (provider, model, dimensions, text_sha256)
  );
  `,
  // v2: Batch API jobs: the mode an upload asked for, and the batch a parked job waits on
  `
  ALTER TABLE jobs ADD COLUMN embedding_mode text NOT NULL DEFAULT 'sync'
    CHECK (embedding_mode IN ('sync', 'batch'));
  ALTER TABLE jobs ADD COLUMN external_ref text;
  `,
  // OpenAI-compatible surface: a job's own chunking (vector store files may set theirs), and the
  // objects that have no native counterpart (uploaded files, vector store settings, file batches)
  `
  ALTER TABLE jobs ADD COLUMN chunking jsonb;
  CREATE TABLE openai_objects (
    seq bigserial PRIMARY KEY,
    kind text NOT NULL,
    parent text NOT NULL DEFAULT '',
    id text NOT NULL,
    created_at bigint NOT NULL,
    body jsonb NOT NULL,
    content bytea,
    UNIQUE (kind, parent, id)
  );
  CREATE INDEX openai_objects_by_id ON openai_objects (kind, id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any 64-bit number unique to Gleaner's schema changes. */
const MIGRATION_LOCK = 7_348_215_900_113;

/**
 * Brings the database to the newest schema version in one transaction, under a transaction-level
 * advisory lock so replicas starting together apply each step once.
 */
export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS gleaner_schema_migrations (
         version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM gleaner_schema_migrations",
    );
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `The database has schema version ${current}, newer than this Gleaner (${MIGRATIONS.length}). Upgrade Gleaner.`,
      );
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1] as string);
      await client.query("INSERT INTO gleaner_schema_migrations (version) VALUES ($1)", [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
