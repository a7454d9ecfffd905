import type pg from "pg";
import type { ErrorBody } from "../../errors.ts";
import type { EnqueueOutcome, IngestJob, IngestRequest } from "../store.ts";
import { type Queryable, transaction } from "./database.ts";
import { type DocumentRow, type JobRow, toDocumentRecord, toIngestJob } from "./rows.ts";

export const DOCUMENT_COLUMNS = "d.*, c.name AS collection_name";

/** A document row by collection and external id, optionally locked for the transaction. */
export async function documentRow(
  db: Queryable,
  collectionId: number,
  id: string,
  lock = false,
): Promise<DocumentRow | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${DOCUMENT_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id
       WHERE d.collection_id = $1 AND d.external_id = $2 ${lock ? "FOR UPDATE OF d" : ""}`,
    [collectionId, id],
  );
  return rows[0];
}

/** Inserts a queued job for the request, owned first by `replica`; returns its id. */
async function insertJob(
  client: pg.PoolClient,
  collectionId: number,
  request: IngestRequest,
  replica: string,
): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO jobs (collection_id, document_id, title, metadata, source_filename,
         source_media_type, source_bytes, source_sha256, payload, state, enqueued_at, enqueued_by,
         embedding_mode, chunking)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, 'queued', now(), $10, $11, $12::jsonb)
       RETURNING id`,
    [
      collectionId,
      request.documentId,
      request.title,
      JSON.stringify(request.metadata),
      request.source.filename,
      request.source.mediaType,
      request.source.bytes,
      request.source.sha256,
      Buffer.from(request.payload.buffer, request.payload.byteOffset, request.payload.byteLength),
      replica,
      request.embeddingMode ?? "sync",
      request.chunking ? JSON.stringify(request.chunking) : null,
    ],
  );
  return (rows[0] as { id: number }).id;
}

/**
 * Records an upload and queues its job in one transaction (see Store.enqueueIngest). The
 * document row is locked first, so uploads, commits and deletes of one document take turns.
 */
export async function enqueueJob(
  pool: pg.Pool,
  collectionId: number,
  request: IngestRequest,
  replica: string,
): Promise<EnqueueOutcome> {
  // a concurrent first upload of the same id from another replica loses the unique insert and
  // retries, then finds the winner's row (and its pending job) like any later upload
  return transaction(
    pool,
    async (client): Promise<EnqueueOutcome> => {
      const existing = await documentRow(client, collectionId, request.documentId, true);
      if (existing) {
        const pendingSha = await pendingShaOf(client, existing.pending_job_id);
        if (pendingSha === request.source.sha256) {
          return { document: toDocumentRecord(existing), jobId: existing.pending_job_id };
        }
        if (
          pendingSha === null &&
          existing.status === "ready" &&
          existing.source_sha256 === request.source.sha256
        ) {
          await client.query(
            `UPDATE documents SET title = $1, metadata = $2::jsonb, updated_at = now()
                 WHERE key = $3 AND (title IS DISTINCT FROM $1 OR metadata <> $2::jsonb)`,
            [request.title, JSON.stringify(request.metadata), existing.key],
          );
          const current = await documentRow(client, collectionId, request.documentId);
          return { document: toDocumentRecord(current as DocumentRow), jobId: null };
        }
        if (existing.pending_job_id !== null) {
          await client.query("DELETE FROM jobs WHERE id = $1 AND state = 'queued'", [
            existing.pending_job_id,
          ]);
        }
      }
      const jobId = await insertJob(client, collectionId, request, replica);
      if (existing) {
        await client.query(
          "UPDATE documents SET status = 'queued', pending_job_id = $1, updated_at = now() WHERE key = $2",
          [jobId, existing.key],
        );
      } else {
        await client.query(
          `INSERT INTO documents (collection_id, external_id, title, metadata, status,
                 source_filename, source_media_type, source_bytes, source_sha256, pending_job_id,
                 created_at, updated_at)
               VALUES ($1, $2, $3, $4::jsonb, 'queued', $5, $6, $7, $8, $9, now(), now())`,
          [
            collectionId,
            request.documentId,
            request.title,
            JSON.stringify(request.metadata),
            request.source.filename,
            request.source.mediaType,
            request.source.bytes,
            request.source.sha256,
            jobId,
          ],
        );
      }
      const document = await documentRow(client, collectionId, request.documentId);
      return { document: toDocumentRecord(document as DocumentRow), jobId };
    },
    { retryOnUnique: true },
  );
}

async function pendingShaOf(client: pg.PoolClient, jobId: number | null): Promise<string | null> {
  if (jobId === null) return null;
  const { rows } = await client.query<{ source_sha256: string }>(
    "SELECT source_sha256 FROM jobs WHERE id = $1",
    [jobId],
  );
  return rows[0]?.source_sha256 ?? null;
}

export interface LeaseSettings {
  replica: string;
  leaseSeconds: number;
}

/** A job's document row, when it still waits on that job (a superseded job has none). */
const PENDING_DOCUMENT = `d.collection_id = j.collection_id AND d.external_id = j.document_id
  AND d.pending_job_id = j.id`;

/**
 * Claims the oldest job that is queued (and either this replica's, unowned, or left waiting past
 * one lease period by its replica) or running under an expired lease.
 *
 * Locks are always taken document first, then job (uploads, commits, failures and deletes do so):
 * the claim locks the job and its document together with SKIP LOCKED, so it never waits — a job
 * whose document is busy is left for the next claim — and never closes a deadlock cycle with an
 * upload holding the document and waiting for the job.
 */
export async function claimJob(
  pool: pg.Pool,
  lease: LeaseSettings,
): Promise<{ job: IngestJob; wasInterrupted: boolean } | null> {
  await dropSupersededOrphans(pool);
  return transaction(pool, async (client) => {
    const { rows } = await client.query<JobRow & { previous_state: string; document_key: number }>(
      `WITH next AS (
         SELECT j.id, j.state AS previous_state, d.key AS document_key
           FROM jobs j JOIN documents d ON ${PENDING_DOCUMENT}
           WHERE (j.state = 'queued' AND (j.enqueued_by IS NULL OR j.enqueued_by = $1
                    OR j.enqueued_at < now() - make_interval(secs => $2)))
              OR (j.state = 'running' AND j.lease_expires_at < now() AND j.external_ref IS NULL)
           ORDER BY j.id LIMIT 1
           FOR UPDATE OF j, d SKIP LOCKED)
       UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, claimed_by = $1,
           claimed_at = now(), lease_expires_at = now() + make_interval(secs => $2)
         FROM next, collections c
         WHERE j.id = next.id AND c.id = j.collection_id
         RETURNING j.*, c.name AS collection_name, next.previous_state, next.document_key`,
      [lease.replica, lease.leaseSeconds],
    );
    const row = rows[0];
    if (!row) return null;
    await client.query(
      "UPDATE documents SET status = 'processing', updated_at = now() WHERE key = $1",
      [row.document_key],
    );
    return { job: toIngestJob(row), wasInterrupted: row.previous_state === "running" };
  });
}

/**
 * A job superseded while running, whose replica then died, waits on no document: nobody would
 * commit it. It is deleted rather than run again (its result would be dropped at commit).
 */
async function dropSupersededOrphans(pool: pg.Pool): Promise<void> {
  await pool.query(
    `DELETE FROM jobs j WHERE j.state = 'running' AND j.lease_expires_at < now()
       AND j.external_ref IS NULL
       AND NOT EXISTS (SELECT 1 FROM documents d WHERE ${PENDING_DOCUMENT})`,
  );
}

/** Extends the leases of every job this replica is running. */
export async function renewLeases(pool: pg.Pool, lease: LeaseSettings): Promise<void> {
  await pool.query(
    `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2)
       WHERE claimed_by = $1 AND state = 'running'`,
    [lease.replica, lease.leaseSeconds],
  );
}

/**
 * A replica shutting down gives up its claims: its running jobs' leases end now (so the next
 * replica to look requeues them) and its queued jobs become anyone's.
 */
export async function releaseReplica(pool: pg.Pool, replica: string): Promise<void> {
  await pool.query(
    `UPDATE jobs SET lease_expires_at = now() - interval '1 second'
       WHERE claimed_by = $1 AND state = 'running'`,
    [replica],
  );
  await pool.query("UPDATE jobs SET enqueued_by = NULL WHERE enqueued_by = $1", [replica]);
}

/** Jobs running under an expired lease: their replica died or stalled (parked ones wait on purpose). */
export async function expiredJobs(
  pool: pg.Pool,
): Promise<{ id: number; attempts: number; document_id: string; collection_name: string }[]> {
  const { rows } = await pool.query<{
    id: number;
    attempts: number;
    document_id: string;
    collection_name: string;
  }>(
    `SELECT j.id, j.attempts, j.document_id, c.name AS collection_name
       FROM jobs j JOIN collections c ON c.id = j.collection_id
       WHERE j.state = 'running' AND j.lease_expires_at < now() AND j.external_ref IS NULL
       ORDER BY j.id`,
  );
  return rows;
}

/** Puts an expired job back in the queue (if it is still expired); true when it was. */
export async function requeueJob(pool: pg.Pool, jobId: number): Promise<boolean> {
  return transaction(pool, async (client) => {
    // document first, then job: the order every writer locks in
    const { rows } = await client.query<{ key: number }>(
      `SELECT d.key FROM documents d JOIN jobs j ON ${PENDING_DOCUMENT} WHERE j.id = $1
         FOR UPDATE OF d`,
      [jobId],
    );
    const document = rows[0];
    if (!document) {
      // superseded while it ran: nothing waits on it
      await client.query(
        "DELETE FROM jobs WHERE id = $1 AND state = 'running' AND lease_expires_at < now()",
        [jobId],
      );
      return false;
    }
    const updated = await client.query(
      `UPDATE jobs SET state = 'queued', claimed_by = NULL, enqueued_by = NULL
         WHERE id = $1 AND state = 'running' AND lease_expires_at < now()`,
      [jobId],
    );
    if (updated.rowCount === 0) return false;
    await client.query("UPDATE documents SET status = 'queued' WHERE key = $1", [document.key]);
    return true;
  });
}

/** Ends a job; the document keeps a ready version, is marked failed, or is removed. */
export async function failJob(
  pool: pg.Pool,
  input: { jobId: number; collectionId: number; documentId: string; error: ErrorBody },
  discardNewDocument: boolean,
): Promise<void> {
  await transaction(pool, async (client) => {
    // document first, then job: the order every writer locks in
    const document = await documentRow(client, input.collectionId, input.documentId, true);
    await client.query("DELETE FROM jobs WHERE id = $1", [input.jobId]);
    if (!document || document.pending_job_id !== input.jobId) return;
    if (document.has_ready_version) {
      await client.query(
        "UPDATE documents SET status = 'ready', error = $1::jsonb, pending_job_id = NULL, updated_at = now() WHERE key = $2",
        [JSON.stringify(input.error), document.key],
      );
    } else if (discardNewDocument) {
      await client.query("DELETE FROM documents WHERE key = $1", [document.key]);
    } else {
      await client.query(
        "UPDATE documents SET status = 'failed', error = $1::jsonb, pending_job_id = NULL, updated_at = now() WHERE key = $2",
        [JSON.stringify(input.error), document.key],
      );
    }
  });
}
