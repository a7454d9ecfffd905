import type Database from "better-sqlite3";

/** Schema versions in order; version N is MIGRATIONS[N - 1]. Never edit a released one. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    embedding_provider TEXT NOT NULL,
    embedding_model TEXT NOT NULL,
    embedding_dimensions INTEGER NOT NULL,
    chunk_max_tokens INTEGER NOT NULL,
    chunk_overlap_tokens INTEGER NOT NULL,
    -- bumped on every vector change, so a saved index can tell whether it is current
    vector_generation INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );

  CREATE TABLE documents (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    title TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    error TEXT,
    source_filename TEXT,
    source_media_type TEXT NOT NULL,
    source_bytes INTEGER NOT NULL,
    source_sha256 TEXT NOT NULL,
    page_count INTEGER,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    token_count INTEGER NOT NULL DEFAULT 0,
    embedding_tokens INTEGER NOT NULL DEFAULT 0,
    -- the upload being processed; a job whose id no longer matches was superseded
    pending_job_id INTEGER,
    has_ready_version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (collection_id, external_id)
  );

  -- AUTOINCREMENT: a chunk id is its HNSW label and must never be reused
  CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    document_key INTEGER NOT NULL REFERENCES documents(key) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    token_count INTEGER NOT NULL,
    vector BLOB NOT NULL
  );
  CREATE INDEX chunks_by_document ON chunks (document_key, ordinal);
  CREATE INDEX chunks_by_collection ON chunks (collection_id, id);

  CREATE VIRTUAL TABLE chunk_fts USING fts5 (
    title, text,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
  );

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    document_id TEXT NOT NULL,
    title TEXT,
    metadata TEXT NOT NULL,
    source_filename TEXT,
    source_media_type TEXT NOT NULL,
    source_bytes INTEGER NOT NULL,
    source_sha256 TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running')),
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at TEXT NOT NULL
  );
  CREATE INDEX jobs_by_state ON jobs (state, id);

  CREATE TABLE embedding_cache (
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    text_sha256 TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (provider, model, dimensions, text_sha256)
  ) WITHOUT ROWID;
  `,
  // v2: Batch API jobs (mode, and the batch a parked job waits on); re-index staging
  `
  ALTER TABLE jobs ADD COLUMN embedding_mode TEXT NOT NULL DEFAULT 'sync'
    CHECK (embedding_mode IN ('sync', 'batch'));
  ALTER TABLE jobs ADD COLUMN external_ref TEXT;

  CREATE TABLE staged_vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    vector BLOB NOT NULL
  );
  CREATE INDEX staged_vectors_by_collection ON staged_vectors (collection_id, chunk_id);
  `,
  // v3: claiming a job finds its document without a scan; collection counts read an index only
  `
  CREATE INDEX documents_by_pending_job ON documents (pending_job_id)
    WHERE pending_job_id IS NOT NULL;
  CREATE INDEX documents_collection_stats ON documents (collection_id, chunk_count, embedding_tokens);
  `,
  // v4: collection totals kept by triggers, so reading a collection no longer scans its documents
  // (it is read for every upload, job and search)
  `
  ALTER TABLE collections ADD COLUMN document_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE collections ADD COLUMN chunk_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE collections ADD COLUMN embedding_tokens INTEGER NOT NULL DEFAULT 0;
  UPDATE collections SET
    document_count = (SELECT count(*) FROM documents d WHERE d.collection_id = collections.id),
    chunk_count = (SELECT coalesce(sum(d.chunk_count), 0) FROM documents d
      WHERE d.collection_id = collections.id),
    embedding_tokens = (SELECT coalesce(sum(d.embedding_tokens), 0) FROM documents d
      WHERE d.collection_id = collections.id);
  CREATE TRIGGER documents_totals_insert AFTER INSERT ON documents BEGIN
    UPDATE collections SET document_count = document_count + 1,
      chunk_count = chunk_count + NEW.chunk_count,
      embedding_tokens = embedding_tokens + NEW.embedding_tokens
    WHERE id = NEW.collection_id;
  END;
  CREATE TRIGGER documents_totals_delete AFTER DELETE ON documents BEGIN
    UPDATE collections SET document_count = document_count - 1,
      chunk_count = chunk_count - OLD.chunk_count,
      embedding_tokens = embedding_tokens - OLD.embedding_tokens
    WHERE id = OLD.collection_id;
  END;
  CREATE TRIGGER documents_totals_update
    AFTER UPDATE OF collection_id, chunk_count, embedding_tokens ON documents BEGIN
    UPDATE collections SET document_count = document_count - 1,
      chunk_count = chunk_count - OLD.chunk_count,
      embedding_tokens = embedding_tokens - OLD.embedding_tokens
    WHERE id = OLD.collection_id;
    UPDATE collections SET document_count = document_count + 1,
      chunk_count = chunk_count + NEW.chunk_count,
      embedding_tokens = embedding_tokens + NEW.embedding_tokens
    WHERE id = NEW.collection_id;
  END;
  `,
  // OpenAI-compatible surface: a job's own chunking (vector store files may set theirs), and the
  // objects that have no native counterpart (uploaded files, vector store settings, file batches)
  `
  ALTER TABLE jobs ADD COLUMN chunking TEXT;
  CREATE TABLE openai_objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    content BLOB,
    UNIQUE (kind, parent, id)
  );
  CREATE INDEX openai_objects_by_id ON openai_objects (kind, id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to the newest schema version, one transaction per step. */
export function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The database has schema version ${current}, newer than this Gleaner (${MIGRATIONS.length}). Upgrade Gleaner.`,
    );
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    const sql = MIGRATIONS[version - 1] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
