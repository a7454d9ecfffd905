import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Services } from "../../services.ts";
import {
  CollectionNameParam,
  errorResponses,
  SearchRequestSchema,
  SearchResponseSchema,
} from "../schemas.ts";
import { searchResultJson } from "../serializers.ts";
import { validationHook } from "../validation.ts";

const search = createRoute({
  method: "post",
  path: "/v1/collections/{name}/search",
  tags: ["search"],
  summary: "Ranked chunks for a query (hybrid, vector or keyword)",
  request: {
    params: CollectionNameParam,
    body: { required: true, content: { "application/json": { schema: SearchRequestSchema } } },
  },
  responses: {
    200: { description: "OK", content: { "application/json": { schema: SearchResponseSchema } } },
    ...errorResponses(400, 401, 404, 502),
  },
});

/** The search route. */
export function searchRoutes(services: Services) {
  return new OpenAPIHono({ defaultHook: validationHook }).openapi(search, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const response = await services.search.search({
      collection: name,
      query: body.query,
      k: body.k,
      mode: body.mode,
      filter: body.filter,
    });
    return c.json(
      { data: response.hits.map(searchResultJson), mode: response.mode, took_ms: response.tookMs },
      200,
    );
  });
}
