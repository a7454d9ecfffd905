// PGlite (real PostgreSQL + pgvector in WebAssembly) on the wire protocol, in a process of its
// own so the benchmark's client and autocannon do not share its single thread.
import { startPgliteServer } from "../test/support/pglite-server.ts";

const server = await startPgliteServer();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
