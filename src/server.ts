import { type ServerType, serve } from "@hono/node-server";
import { createApp } from "./api/app.ts";
import type { Runtime } from "./bootstrap.ts";

export interface RunningServer {
  server: ServerType;
  port: number;
  /** Stops accepting connections, lets in-flight work finish, persists indexes. */
  close(): Promise<void>;
}

/** Listens first (so /healthz answers and /readyz says 503), then opens the store. */
export async function startServer(runtime: Runtime): Promise<RunningServer> {
  const { config, logger } = runtime.services;
  const app = createApp(runtime.services);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const instance = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
      resolve(instance),
    );
    instance.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  logger.info({ host: config.host, port }, "listening");
  await runtime.start();
  let closing: Promise<void> | null = null;
  return {
    server,
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // keep-alive connections would hold close() open; idle ones can go now
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        await runtime.stop();
      })();
      return closing;
    },
  };
}
