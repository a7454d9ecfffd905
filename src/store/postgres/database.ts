import { randomUUID } from "node:crypto";
import pg from "pg";
import { pgTypes } from "./rows.ts";

export type Queryable = pg.Pool | pg.PoolClient;

/** SQLSTATEs worth retrying a whole transaction for. */
const SERIALIZATION_FAILURE = "40001";
const DEADLOCK_DETECTED = "40P01";
export const UNIQUE_VIOLATION = "23505";
export const FOREIGN_KEY_VIOLATION = "23503";

/** The SQLSTATE of a `pg` error, or null. */
export function sqlState(error: unknown): string | null {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return null;
}

/** A pool whose bigint columns arrive as numbers; each store instance names itself for leases. */
export function createPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types: pgTypes,
    application_name: `gleaner-${randomUUID().slice(0, 8)}`,
  });
  // an idle client losing its server (restart, failover) must not crash the process
  pool.on("error", () => undefined);
  return pool;
}

/**
 * Runs `work` in one READ COMMITTED transaction on one pooled connection. Conflicts between
 * replicas surface as a unique violation (when `retryOnUnique`), a serialization failure or a
 * deadlock; the whole transaction is then retried, reading the winner's committed rows.
 */
export async function transaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: { retryOnUnique?: boolean; attempts?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      const state = sqlState(error);
      const retryable =
        state === SERIALIZATION_FAILURE ||
        state === DEADLOCK_DETECTED ||
        (state === UNIQUE_VIOLATION && options.retryOnUnique === true);
      if (!retryable || attempt >= attempts) throw error;
    } finally {
      client.release();
    }
  }
}
