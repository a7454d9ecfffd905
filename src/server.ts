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
        runtime.services.readiness.ready = false;
        await new Promise<void>((resolve) => {
          // requests still running after the grace period are cut off; their jobs stay queued
          const deadline = setTimeout(() => {
            logger.warn({ ms: config.shutdownTimeoutMs }, "closing connections still open");
            if ("closeAllConnections" in server) server.closeAllConnections();
          }, config.shutdownTimeoutMs);
          // keep-alive connections would hold close() open until they time out: close each one
          // as soon as it is idle, including those whose last response is still being written
          const sweep = setInterval(() => {
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }, 50);
          server.close(() => {
            clearTimeout(deadline);
            clearInterval(sweep);
            resolve();
          });
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        await runtime.stop();
      })();
      return closing;
    },
  };
}
