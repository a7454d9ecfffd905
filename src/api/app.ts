import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { apiKeyAuth } from "./auth.ts";
import { mountDocsPage } from "./docs-page.ts";
import { errorResponse } from "./error-handler.ts";
import { collectionRoutes } from "./routes/collections.ts";
import { documentRoutes } from "./routes/documents.ts";
import { searchRoutes } from "./routes/search.ts";
import { validationHook } from "./validation.ts";

/** The HTTP application over the given services. */
export function createApp(services: Services) {
  const { config, logger } = services;
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.use(requestId({ headerName: "x-request-id" }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      {
        request_id: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      "request",
    );
  });
  app.onError((error, c) => errorResponse(error, c, logger));
  app.notFound((c) =>
    errorResponse(
      new AppError("not_found", `No route for ${c.req.method} ${c.req.path}.`),
      c,
      logger,
    ),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    services.readiness.ready ? c.json({ status: "ready" }) : c.json({ status: "loading" }, 503),
  );

  app.use("/v1/*", apiKeyAuth({ full: config.apiKeys, readOnly: config.readApiKeys }));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: config.maxUploadBytes,
      onError: () => {
        throw new AppError(
          "payload_too_large",
          `The request body is larger than ${config.maxUploadBytes} bytes (GLEANER_MAX_UPLOAD_BYTES).`,
        );
      },
    }),
  );
  app.use("/v1/*", async (_c, next) => {
    if (!services.readiness.ready) {
      throw new AppError("unavailable", "Gleaner is still loading its indexes; retry shortly.", {
        retryAfterSeconds: 1,
      });
    }
    await next();
  });

  const routes = app
    .route("/", collectionRoutes(services))
    .route("/", documentRoutes(services))
    .route("/", searchRoutes(services));

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
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
