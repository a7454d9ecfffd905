import { after } from "node:test";
import { runApiSuite } from "./support/api-suite.ts";
import {
  realPostgresUrl,
  startTestDatabase,
  type TestDatabase,
} from "./support/postgres-database.ts";
import { startTestServer } from "./support/test-server.ts";

let database: TestDatabase | null = null;
after(async () => {
  await database?.close();
});

// the same API suite as api.test.ts, with GLEANER_DATABASE_URL selecting PostgreSQL + pgvector:
// a real server when GLEANER_TEST_DATABASE_URL names one, else PGlite in this process
runApiSuite(`postgres (${realPostgresUrl ? "PostgreSQL" : "PGlite"})`, async () => {
  database = await startTestDatabase();
  return startTestServer({ GLEANER_DATABASE_URL: database.url, GLEANER_DATABASE_POOL_SIZE: "4" });
});
