import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Reindexer } from "../../ingest/reindex.ts";
import type { Services } from "../../services.ts";
import {
  CollectionNameParam,
  errorResponses,
  ReindexRequestSchema,
  ReindexResponseSchema,
} from "../schemas.ts";
import { collectionJson } from "../serializers.ts";
import { validationHook } from "../validation.ts";

const reindexCollection = createRoute({
  method: "post",
  path: "/v1/collections/{name}/reindex",
  tags: ["collections"],
  summary: "Re-embed a collection under a new embedding configuration (or price it: dry_run)",
  description:
    "A dry run returns the tokens and estimated cost (cache hits excluded). A real run builds the new vectors and index beside the old ones and swaps them in atomically; searches keep working throughout.",
  request: {
    params: CollectionNameParam,
    body: { required: true, content: { "application/json": { schema: ReindexRequestSchema } } },
  },
  responses: {
    200: {
      description: "Priced (dry run) or re-indexed",
      content: { "application/json": { schema: ReindexResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 502),
  },
});

/** The re-index route. */
export function reindexRoutes(services: Services) {
  const reindexer = new Reindexer(services);
  return new OpenAPIHono({ defaultHook: validationHook }).openapi(reindexCollection, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const outcome = await reindexer.reindex({
      collection: name,
      embedding: body.embedding,
      dryRun: body.dry_run,
    });
    return c.json(
      {
        dry_run: outcome.dryRun,
        embedding: outcome.embedding,
        chunks: outcome.chunks,
        distinct_texts: outcome.distinctTexts,
        cached_texts: outcome.cachedTexts,
        tokens: outcome.tokens,
        cost_usd: outcome.costUsd,
        batch_cost_usd: outcome.batchCostUsd,
        took_ms: outcome.tookMs,
        ...(outcome.collection ? { collection: collectionJson(outcome.collection) } : {}),
      },
      200,
    );
  });
}
