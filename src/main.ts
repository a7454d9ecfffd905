import { parseArgs } from "node:util";
import { createLogger, createRuntime } from "./bootstrap.ts";
import { ASK_USAGE, askCommand } from "./cli/ask-command.ts";
import { backupCommand, restoreCommand } from "./cli/backup-command.ts";
import { runIngest } from "./cli/ingest-command.ts";
import { migrateToPostgres } from "./cli/migrate-command.ts";
import { DEFAULT_COLLECTION } from "./collection-settings.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { toAppError } from "./errors.ts";
import { mcpStdioCommand } from "./mcp/stdio.ts";
import { startServer } from "./server.ts";

const USAGE = `Usage: gleaner <command> [options]

Commands:
  serve                                  run the HTTP service (HOST, PORT, GLEANER_DATA_DIR)
  mcp [--read-only]                      serve MCP over stdin/stdout (for assistants and agents)
  ingest <file|dir>... [--collection C]  index files, with progress and a summary
         [--batch]                       embed through OpenAI's Batch API (half price, ≤ 24 h)
  search "<query>" [--collection C] [--k N] [--mode hybrid|vector|keyword]
  ${ASK_USAGE}
                                         a grounded answer with verified citations
  backup <file>                          write a consistent snapshot (safe while serving)
  restore <file>                         unpack a snapshot into an empty GLEANER_DATA_DIR
  migrate --to postgres://… [--collection C]
                                         copy GLEANER_DATA_DIR's collections into PostgreSQL

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  if (command === "serve") return serveCommand(config);
  if (command === "backup" || command === "restore") {
    const target = rest[0];
    if (!target || rest.length > 1) throw new UsageError(`${command} needs exactly one <file>.`);
    const report = await (command === "backup" ? backupCommand : restoreCommand)(
      config.dataDir,
      target,
    );
    process.stdout.write(`${report}\n`);
    return 0;
  }
  if (command === "migrate") return migrateCommand(config.dataDir, rest);
  if (command === "ask") return askCommand(config, rest);
  if (command === "mcp") {
    const { values } = parseArgs({ args: rest, options: { "read-only": { type: "boolean" } } });
    return mcpStdioCommand(config, { readOnly: values["read-only"] === true });
  }

  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      collection: { type: "string", short: "c", default: DEFAULT_COLLECTION },
      k: { type: "string", default: "10" },
      mode: { type: "string", default: "hybrid" },
      "no-progress": { type: "boolean", default: false },
      batch: { type: "boolean", default: false },
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
        batch: values.batch,
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

async function migrateCommand(dataDir: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { to: { type: "string" }, collection: { type: "string" } },
  });
  if (!values.to || !/^postgres(ql)?:\/\//.test(values.to)) {
    throw new UsageError("migrate needs --to postgres://user:password@host:5432/database");
  }
  const summary = await migrateToPostgres({
    dataDir,
    to: values.to,
    collection: values.collection,
    onProgress: (line) => process.stdout.write(`${line}\n`),
  });
  const moved = summary.collections.filter((c) => c.skipped === null);
  process.stdout.write(
    `${moved.length} collections, ${moved.reduce((n, c) => n + c.documents, 0)} documents, ` +
      `${moved.reduce((n, c) => n + c.chunks, 0)} chunks, ${summary.cacheEntries} cache entries ` +
      `in ${summary.seconds.toFixed(1)} s\n`,
  );
  return moved.length === summary.collections.length ? 0 : 1;
}

async function serveCommand(config: ReturnType<typeof loadConfig>): Promise<number> {
  const logger = createLogger(config);
  const runtime = createRuntime(config, { logger });
  const running = await startServer(runtime);
  process.stdout.write(`Gleaner is listening on http://${config.host}:${running.port}\n`);
  let failed = false;
  await new Promise<void>((resolve) => {
    let signals = 0;
    const shutdown = (signal: string): void => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, "second signal: exiting without finishing in-flight work");
        process.exit(1);
      }
      logger.info({ signal }, "shutting down");
      running.close().then(
        () => {
          logger.info("stopped: in-flight work finished, indexes saved");
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          failed = true;
          resolve();
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
  // everything is saved; a stray handle (an idle parser worker) must not keep the process up
  setTimeout(() => process.exit(), 2000).unref();
  return failed ? 1 : 0;
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
