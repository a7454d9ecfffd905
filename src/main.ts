import { parseArgs } from "node:util";
import { createLogger, createRuntime } from "./bootstrap.ts";
import { runIngest } from "./cli/ingest-command.ts";
import { DEFAULT_COLLECTION } from "./collection-settings.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { toAppError } from "./errors.ts";
import { startServer } from "./server.ts";

const USAGE = `Usage: gleaner <command> [options]

Commands:
  serve                                  run the HTTP service (HOST, PORT, GLEANER_DATA_DIR)
  ingest <file|dir>... [--collection C]  index files, with progress and a summary
  search "<query>" [--collection C] [--k N] [--mode hybrid|vector|keyword]

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  if (command === "serve") return serveCommand(config);

  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      collection: { type: "string", short: "c", default: DEFAULT_COLLECTION },
      k: { type: "string", default: "10" },
      mode: { type: "string", default: "hybrid" },
      "no-progress": { type: "boolean", default: false },
    },
  });
  const logger = createLogger(
    { logLevel: config.logLevel === "info" ? "warn" : config.logLevel },
    2,
  );
  const runtime = createRuntime(config, { logger });

  if (command === "ingest") {
    if (positionals.length === 0) throw new UsageError("ingest needs at least one file or folder.");
    await runtime.start();
    try {
      const summary = await runIngest(runtime, {
        paths: positionals,
        collection: values.collection,
        progress: !values["no-progress"] && process.stderr.isTTY === true,
      });
      process.stdout.write(
        `${summary.documents} documents (${summary.unchanged} unchanged), ${summary.chunks} chunks, ` +
          `${summary.tokens} tokens, ${summary.failures.length} failed in ${summary.seconds.toFixed(1)} s\n`,
      );
      for (const failure of summary.failures) {
        process.stdout.write(`  failed: ${failure.path}: ${failure.message}\n`);
      }
      return summary.failures.length > 0 ? 1 : 0;
    } finally {
      await runtime.stop();
    }
  }

  if (command === "search") {
    const query = positionals.join(" ").trim();
    if (!query) throw new UsageError('search needs a query, e.g. gleaner search "boundary layer"');
    const mode = values.mode;
    if (mode !== "hybrid" && mode !== "vector" && mode !== "keyword") {
      throw new UsageError("--mode is one of hybrid, vector, keyword.");
    }
    const k = Number(values.k);
    if (!Number.isInteger(k) || k < 1 || k > 100)
      throw new UsageError("--k is a whole number from 1 to 100.");
    await runtime.start({ processQueue: false });
    try {
      const response = await runtime.services.search.search({
        collection: values.collection,
        query,
        k,
        mode,
      });
      response.hits.forEach((hit, index) => {
        const pages =
          hit.pageStart === null
            ? ""
            : ` p.${hit.pageStart}${hit.pageEnd !== hit.pageStart ? `-${hit.pageEnd}` : ""}`;
        const excerpt = hit.text.replace(/\s+/g, " ").slice(0, 160);
        process.stdout.write(
          `${index + 1}. ${hit.title ?? hit.documentId}${pages} [${hit.score.toFixed(4)}]\n   ${excerpt}\n`,
        );
      });
      if (response.hits.length === 0) process.stdout.write("No results.\n");
      return 0;
    } finally {
      await runtime.stop();
    }
  }
  throw new UsageError(`Unknown command "${command}".`);
}

class UsageError extends Error {}

async function serveCommand(config: ReturnType<typeof loadConfig>): Promise<number> {
  const logger = createLogger(config);
  const runtime = createRuntime(config, { logger });
  const running = await startServer(runtime);
  process.stdout.write(`Gleaner is listening on http://${config.host}:${running.port}\n`);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, "shutting down");
      running.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`gleaner: ${toAppError(error).message}\n`);
    if (!(error instanceof Error && error.name === "AppError")) console.error(error);
    process.exitCode = 1;
  },
);
