import { after } from "node:test";
import { runApiSuite } from "./support/api-suite.ts";
import { type PgliteServer, startPgliteServer } from "./support/pglite-server.ts";
import { startTestServer } from "./support/test-server.ts";

let database: PgliteServer | null = null;
after(async () => {
  await database?.close();
});

// the same API suite as api.test.ts, with GLEANER_DATABASE_URL selecting PostgreSQL + pgvector
runApiSuite("postgres", async () => {
  database = await startPgliteServer();
  return startTestServer({ GLEANER_DATABASE_URL: database.url, GLEANER_DATABASE_POOL_SIZE: "4" });
});
