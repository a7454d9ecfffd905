import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Logger } from "pino";
import { AppError } from "../errors.ts";
import { mcpRoutes } from "../mcp/http.ts";
import { createMetrics } from "../metrics.ts";
import { openaiCompatRoutes } from "../openai-compat/routes.ts";
import type { Services } from "../services.ts";
import { apiKeyAuth } from "./auth.ts";
import { mountDocsPage } from "./docs-page.ts";
import { errorResponse } from "./error-handler.ts";
import { rateLimit } from "./rate-limit.ts";
import { answerRoutes } from "./routes/answer.ts";
import { collectionRoutes } from "./routes/collections.ts";
import { documentRoutes } from "./routes/documents.ts";
import { reindexRoutes } from "./routes/reindex.ts";
import { searchRoutes } from "./routes/search.ts";
import { webRoutes } from "./routes/web.ts";
import { validationHook } from "./validation.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The service logger bound to this request's id, so every line of a request carries it. */
    logger: Logger;
  }
}

/** The docs and web pages load same-origin script files only; Swagger UI sets inline styles. */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** The HTTP application over the given services. */
export function createApp(services: Services) {
  const { config, logger } = services;
  const app = new OpenAPIHono({ defaultHook: validationHook });

  const metrics = createMetrics(services);
  app.use(requestId({ headerName: "x-request-id" }));
  app.use(async (c, next) => {
    const started = performance.now();
    const requestLogger = logger.child({ request_id: c.get("requestId") });
    c.set("logger", requestLogger);
    await next();
    requestLogger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      "request",
    );
  });
  app.use(metrics.middleware);
  app.use(secureHeaders({ contentSecurityPolicy: CONTENT_SECURITY_POLICY }));
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins,
        allowHeaders: ["authorization", "content-type", "x-request-id"],
        exposeHeaders: ["x-request-id", "retry-after"],
        maxAge: 600,
      }),
    );
  }
  app.onError((error, c) => errorResponse(error, c, c.var.logger ?? logger));
  app.notFound((c) =>
    errorResponse(
      new AppError("not_found", `No route for ${c.req.method} ${c.req.path}.`),
      c,
      c.var.logger ?? logger,
    ),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    services.readiness.ready ? c.json({ status: "ready" }) : c.json({ status: "loading" }, 503),
  );

  const keys = { full: config.apiKeys, readOnly: config.readApiKeys };
  // collection names and sizes are not for anonymous eyes once keys guard the service
  app.use("/metrics", apiKeyAuth(keys));
  app.get("/metrics", async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });
  // the native API and the OpenAI-compatible one share keys, limits and readiness; /mcp shares
  // the limiter, so a key's budget is the same whichever way it calls
  const auth = apiKeyAuth(keys);
  const limiter = rateLimit(config.rateLimit);
  const tooLarge = (): never => {
    throw new AppError(
      "payload_too_large",
      `The request body is larger than ${config.maxUploadBytes} bytes (GLEANER_MAX_UPLOAD_BYTES).`,
    );
  };
  const streamingBodyLimit = bodyLimit({ maxSize: config.maxUploadBytes, onError: tooLarge });
  for (const prefix of ["/v1/*", "/openai/v1/*"]) {
    app.use(prefix, auth);
    app.use(prefix, limiter);
    app.use(prefix, (c, next) => {
      // bodyLimit reads c.req.raw.body, which makes the node adapter build a full web Request
      // with a body stream (about 0.4 ms per request); a declared length needs only the header,
      // and GET and HEAD requests have no body in the fetch API
      if (c.req.method === "GET" || c.req.method === "HEAD") return next();
      const length = c.req.header("content-length");
      if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
        return Number.parseInt(length, 10) > config.maxUploadBytes ? tooLarge() : next();
      }
      return streamingBodyLimit(c, next);
    });
    app.use(prefix, async (_c, next) => {
      if (!services.readiness.ready) {
        throw new AppError("unavailable", "Gleaner is still loading its indexes; retry shortly.", {
          retryAfterSeconds: 1,
        });
      }
      await next();
    });
  }
  app.route("/", mcpRoutes(services, { rateLimit: limiter }));

  const routes = app
    .route("/", collectionRoutes(services))
    .route("/", documentRoutes(services))
    .route("/", searchRoutes(services))
    .route("/", reindexRoutes(services))
    .route("/", answerRoutes(services));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Gleaner",
      version: "1",
      description:
        "Self-hosted document search: hybrid search and grounded answers over your documents.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  mountDocsPage(app);
  // OpenAI's API shapes (the official openai SDK with baseURL .../openai/v1), outside AppType
  app.route("/openai/v1", openaiCompatRoutes(services));
  // the page for people; outside the typed route chain, so AppType stays the API alone
  app.route("/", webRoutes());
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
