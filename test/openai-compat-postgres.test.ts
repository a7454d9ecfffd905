import { after } from "node:test";
import { runOpenAICompatSuite } from "./support/openai-compat-suite.ts";
import { type PgliteServer, startPgliteServer } from "./support/pglite-server.ts";
import { startTestServer } from "./support/test-server.ts";

let database: PgliteServer | null = null;
after(async () => {
  await database?.close();
});

// the same suite as openai-compat.test.ts, on PostgreSQL + pgvector (PGlite)
runOpenAICompatSuite("postgres", async (env) => {
  database = await startPgliteServer();
  return startTestServer({
    ...env,
    GLEANER_DATABASE_URL: database.url,
    GLEANER_DATABASE_POOL_SIZE: "4",
  });
});
