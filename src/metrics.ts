import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Services } from "./services.ts";

/** The Prometheus metrics of one running service, in their own registry (tests run several). */
export interface Metrics {
  registry: Registry;
  /** Counts and times every HTTP request by method, route pattern and status. */
  middleware: MiddlewareHandler;
  /** The exposition text for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Stops observing the ingest service. */
  close(): void;
}

/** The route pattern that answered (`/v1/collections/:name`), never the raw path: bounded labels. */
function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const handler = matchedRoutes(c).findLast((route) => !route.path.endsWith("*"));
  return handler?.path ?? "unmatched";
}

/** Builds the registry: HTTP, ingest queue, per-collection sizes, embedding tokens, upstream errors. */
export function createMetrics(services: Services): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gleaner_" });

  const requests = new Counter({
    name: "gleaner_http_requests_total",
    help: "HTTP requests by method, route pattern and status.",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "gleaner_http_request_duration_seconds",
    help: "HTTP request latency by method and route pattern.",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: "gleaner_upstream_errors_total",
    help: "Failures of the embedding or answer provider (after retries), by where they surfaced.",
    labelNames: ["source"],
    registers: [registry],
  });
  const embeddingTokens = new Counter({
    name: "gleaner_embedding_tokens_total",
    help: "Tokens sent to embedding providers for ingested documents, by collection.",
    labelNames: ["collection"],
    registers: [registry],
  });
  const ingestJobs = new Counter({
    name: "gleaner_ingest_jobs_total",
    help: "Finished ingest jobs by outcome (ready, or the error type).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const ingestSeconds = new Histogram({
    name: "gleaner_ingest_duration_seconds",
    help: "Time from claiming an ingest job to its commit or failure.",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  new Gauge({
    name: "gleaner_ingest_queue_depth",
    help: "Ingest jobs queued or running.",
    registers: [registry],
    async collect() {
      if (services.readiness.ready) this.set(await services.ingest.queueDepth());
    },
  });
  const collectionSize = (name: string, help: string, pick: (c: Sizes) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["collection"],
      registers: [registry],
      async collect() {
        if (!services.readiness.ready) return;
        this.reset();
        for (const collection of await services.store.listCollections()) {
          this.set({ collection: collection.name }, pick(collection));
        }
      },
    });
  collectionSize("gleaner_documents", "Documents per collection.", (c) => c.documentCount);
  collectionSize("gleaner_chunks", "Chunks per collection.", (c) => c.chunkCount);

  const stopObserving = services.ingest.onJobFinished((event) => {
    ingestJobs.inc({ outcome: event.error?.type ?? "ready" });
    ingestSeconds.observe(event.milliseconds / 1000);
    if (event.embeddingTokens > 0) {
      embeddingTokens.inc({ collection: event.collection }, event.embeddingTokens);
    }
    if (event.error?.type === "upstream_error") upstreamErrors.inc({ source: "ingest" });
  });

  const middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const status = c.res.status;
      requests.inc({ method: c.req.method, route, status: String(status) });
      latency.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
      if (status === 502) upstreamErrors.inc({ source: "request" });
    }
  };

  return {
    registry,
    middleware,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close: () => void stopObserving(),
  };
}

interface Sizes {
  documentCount: number;
  chunkCount: number;
}
