import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface PgliteServer {
  /** A postgres:// URL for `pg` (and so for GLEANER_DATABASE_URL). */
  url: string;
  db: PGlite;
  close(): Promise<void>;
}

/**
 * Real PostgreSQL with the real pgvector extension (PGlite, in this process), served on the wire
 * protocol on 127.0.0.1 so `pg` — and Gleaner processes — connect as to any server. All clients
 * share one session: a transaction holds the database until it ends, and session settings are
 * shared, which is why the backend only ever uses transaction-local settings.
 *
 * So it is the quick path for SQL and pgvector behaviour, never proof of behaviour under
 * concurrency: transactions never overlap here, so lock waits, deadlocks and unique-violation
 * retries between replicas do not happen (a lock-order deadlock between uploads and job claims
 * passed here and failed on a real server). Concurrency tests need GLEANER_TEST_DATABASE_URL
 * (scripts/postgres-test-server.sh) and skip without it.
 */
export async function startPgliteServer(
  options: { maxConnections?: number } = {},
): Promise<PgliteServer> {
  const db = await PGlite.create({
    extensions: { vector },
    loadDataDir: new Blob([await templateDataDir()]),
  });
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: options.maxConnections ?? 64,
  });
  keepExtendedQueriesWhole(server);
  await server.start();
  // the socket server does not expose the port it was given for port 0
  const listening = (server as unknown as { server: Server }).server;
  const { port } = listening.address() as AddressInfo;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    db,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * A fresh cluster with pgvector installed, as a data-directory tarball kept in the temp dir:
 * initdb under WASM takes ~20 s on these machines, loading the tarball ~5 s.
 */
async function templateDataDir(): Promise<Uint8Array> {
  const manifest = new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  const file = join(tmpdir(), `gleaner-pglite-${version}-vector.tar.gz`);
  if (existsSync(file)) return readFileSync(file);
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const dump = new Uint8Array(await (await db.dumpDataDir("gzip")).arrayBuffer());
  await db.close();
  // written aside and renamed: test files starting together never read a half-written file
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, dump);
  renameSync(partial, file);
  return dump;
}

type Enqueue = (
  handlerId: number,
  message: Uint8Array,
  onData: (data: Uint8Array) => void,
) => Promise<unknown>;

/** Frontend messages of the extended query protocol that wait for the Sync ending their query. */
const EXTENDED = new Set(["P", "B", "D", "E", "C"].map((letter) => letter.charCodeAt(0)));

/**
 * The socket server queues each protocol message on its own, so outside a transaction another
 * client's Parse can slip between this client's Parse and Bind — both use the one session's
 * unnamed statement ("bind message supplies 4 parameters, but prepared statement requires 1").
 * Real PostgreSQL gives each connection its own session; here a client's messages up to its
 * Sync are held and then queued back to back, so each query runs whole.
 */
function keepExtendedQueriesWhole(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue: { enqueue: Enqueue } }).queryQueue;
  const enqueue = queue.enqueue.bind(queue);
  const held = new Map<number, { message: Uint8Array; onData: (data: Uint8Array) => void }[]>();
  queue.enqueue = (handlerId, message, onData) => {
    const type = message[0] ?? 0;
    if (EXTENDED.has(type)) {
      const list = held.get(handlerId) ?? [];
      list.push({ message, onData });
      held.set(handlerId, list);
      return Promise.resolve();
    }
    const before = held.get(handlerId) ?? [];
    held.delete(handlerId);
    // queued synchronously, so no other client's message lands in between
    for (const earlier of before) {
      enqueue(handlerId, earlier.message, earlier.onData).catch(() => undefined);
    }
    return enqueue(handlerId, message, onData);
  };
}
