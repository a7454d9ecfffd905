import { runOpenAICompatSuite } from "./support/openai-compat-suite.ts";
import { startTestServer } from "./support/test-server.ts";

// the OpenAI-compatible surface over SQLite (the embedded default)
runOpenAICompatSuite("sqlite", (env) => startTestServer(env));
