// Run in its own process so autocannon (in the parent) does not share the server's event loop.
// Serves Gleaner over the given data directory and, beside it, a bare Hono route.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createLogger, createRuntime } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: http-server.ts <dataDir>");
const config = loadConfig({
  ...process.env,
  GLEANER_DATA_DIR: dataDir,
  HOST: "127.0.0.1",
  PORT: "0",
  GLEANER_LOG_LEVEL: "silent",
});
const runtime = createRuntime(config, { logger: createLogger(config) });
const server = await startServer(runtime);
// measure search, not the keyword index being built in the background after start-up
const { store } = runtime.services;
if ("keywordIndexesReady" in store && typeof store.keywordIndexesReady === "function") {
  await store.keywordIndexesReady();
}

// the floor: the same adapter and framework, parsing the same JSON body, no work
const bare = new Hono().post("/bare", async (c) => {
  const body = (await c.req.json()) as { query?: string };
  return c.json({ data: [], mode: "bare", query: body.query ?? null });
});
const barePort = await new Promise<number>((resolve) => {
  const instance = serve({ fetch: bare.fetch, hostname: "127.0.0.1", port: 0 }, (info) =>
    resolve(info.port),
  );
  process.once("SIGTERM", () => instance.close());
});
process.stdout.write(`${JSON.stringify({ port: server.port, barePort })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
