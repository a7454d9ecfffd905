import { randomBytes } from "node:crypto";
import pg from "pg";
import { startPgliteServer } from "./pglite-server.ts";

export interface TestDatabase {
  /** A postgres:// URL for `pg` (and so for GLEANER_DATABASE_URL). */
  url: string;
  /** "postgresql": a real server, one session per connection; "pglite": one in-process session. */
  backend: "postgresql" | "pglite";
  exec(sql: string): Promise<void>;
  query<Row>(sql: string, parameters?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** The real server the tests run against, when there is one (see scripts/postgres-test-server.sh). */
export const realPostgresUrl: string | undefined =
  process.env.GLEANER_TEST_DATABASE_URL || undefined;

export const NO_REAL_POSTGRES =
  "no real PostgreSQL: GLEANER_TEST_DATABASE_URL is not set (run the tests through scripts/postgres-test-server.sh -- npm test)";

/**
 * A fresh database of its own on the real server — test files run side by side and share the
 * job queue otherwise — dropped (with its connections) on close.
 */
export async function createRealDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `gleaner_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  return {
    url: url.toString(),
    backend: "postgresql",
    async exec(sql) {
      await pool.query(sql);
    },
    async query<Row>(sql: string, parameters: unknown[] = []) {
      return (await pool.query(sql, parameters)).rows as Row[];
    },
    async close() {
      await pool.end();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

/**
 * Real PostgreSQL when GLEANER_TEST_DATABASE_URL names a server; otherwise PGlite in this
 * process — a quick path that checks SQL and pgvector behaviour, not concurrency.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  if (realPostgresUrl) return createRealDatabase(realPostgresUrl);
  const lite = await startPgliteServer();
  return {
    url: lite.url,
    backend: "pglite",
    async exec(sql) {
      await lite.db.exec(sql);
    },
    async query<Row>(sql: string, parameters: unknown[] = []) {
      return (await lite.db.query<Row>(sql, parameters)).rows;
    },
    close: () => lite.close(),
  };
}
