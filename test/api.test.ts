import { runApiSuite } from "./support/api-suite.ts";
import { startTestServer } from "./support/test-server.ts";

runApiSuite("sqlite", () => startTestServer());
