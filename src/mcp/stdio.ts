import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createLogger, createRuntime } from "../bootstrap.ts";
import type { Config } from "../config.ts";
import { createMcpServer } from "./server.ts";

/**
 * `gleaner mcp`: MCP over stdin/stdout for a client that starts Gleaner itself, over
 * GLEANER_DATA_DIR (or GLEANER_DATABASE_URL). stdout carries the protocol, so logs go to stderr.
 * Whoever can start the process can read the data directory, so no key is asked; `readOnly`
 * leaves the writing tools out. Resolves when the client closes stdin or a signal arrives.
 */
export async function mcpStdioCommand(
  config: Config,
  options: { readOnly: boolean },
): Promise<number> {
  const logger = createLogger(config, 2);
  const runtime = createRuntime(config, { logger });
  await runtime.start();
  const server = createMcpServer(runtime.services, { access: options.readOnly ? "read" : "full" });
  const transport = new StdioServerTransport();
  await new Promise<void>((resolve, reject) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
    server.connect(transport).catch(reject);
  }).finally(async () => {
    await server.close();
    // in-flight ingest jobs finish and the indexes are saved before the process ends
    await runtime.stop();
    process.stdin.destroy();
  });
  return 0;
}
