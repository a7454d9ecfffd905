import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { resolveCollectionSettings } from "../../collection-settings.ts";
import { notFound } from "../../errors.ts";
import type { Services } from "../../services.ts";
import {
  CollectionListSchema,
  CollectionNameParam,
  CollectionSchema,
  CreateCollectionSchema,
  errorResponses,
} from "../schemas.ts";
import { collectionJson } from "../serializers.ts";
import { validationHook } from "../validation.ts";

const createCollection = createRoute({
  method: "post",
  path: "/v1/collections",
  tags: ["collections"],
  summary: "Create a collection",
  request: {
    body: { required: true, content: { "application/json": { schema: CreateCollectionSchema } } },
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: CollectionSchema } } },
    ...errorResponses(400, 401, 403, 409),
  },
});

const listCollections = createRoute({
  method: "get",
  path: "/v1/collections",
  tags: ["collections"],
  summary: "List collections",
  responses: {
    200: { description: "OK", content: { "application/json": { schema: CollectionListSchema } } },
    ...errorResponses(401),
  },
});

const getCollection = createRoute({
  method: "get",
  path: "/v1/collections/{name}",
  tags: ["collections"],
  summary: "Get a collection",
  request: { params: CollectionNameParam },
  responses: {
    200: { description: "OK", content: { "application/json": { schema: CollectionSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const deleteCollection = createRoute({
  method: "delete",
  path: "/v1/collections/{name}",
  tags: ["collections"],
  summary: "Delete a collection with all its documents",
  request: { params: CollectionNameParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(400, 401, 403, 404),
  },
});

/** Routes over collections. */
export function collectionRoutes(services: Services) {
  const { store, embedders } = services;
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(createCollection, async (c) => {
      const body = c.req.valid("json");
      const settings = resolveCollectionSettings(
        {
          name: body.name,
          description: body.description,
          embedding: body.embedding,
          chunking: {
            maxTokens: body.chunking?.max_tokens,
            overlapTokens: body.chunking?.overlap_tokens,
          },
        },
        embedders,
      );
      const created = await store.createCollection(settings);
      return c.json(collectionJson(created), 201);
    })
    .openapi(listCollections, async (c) => {
      const collections = await store.listCollections();
      return c.json({ data: collections.map(collectionJson) }, 200);
    })
    .openapi(getCollection, async (c) => {
      const { name } = c.req.valid("param");
      const collection = await store.getCollection(name);
      if (!collection) throw notFound(`Collection "${name}"`, "name");
      return c.json(collectionJson(collection), 200);
    })
    .openapi(deleteCollection, async (c) => {
      const { name } = c.req.valid("param");
      if (!(await store.deleteCollection(name))) throw notFound(`Collection "${name}"`, "name");
      return c.body(null, 204);
    });
}
