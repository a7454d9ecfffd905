/*
 * The OpenAI-compatible surface, mounted under /openai/v1: files, vector stores, vector store
 * files, file batches, search and responses. Point the official SDK's baseURL here.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { FILE_PURPOSES, type FilePurpose, FileRepository, fileJson } from "./files.ts";
import { attributesOf, fileBatchJson, vectorStoreFileJson, vectorStoreJson } from "./mappers.ts";
import { FilePageQuerySchema, PageQuerySchema, paginate } from "./pagination.ts";
import { jsonBody, query } from "./request.ts";
import { responseRoutes } from "./responses.ts";
import {
  CreateFileBatchSchema,
  CreateVectorStoreFileSchema,
  CreateVectorStoreSchema,
  UpdateVectorStoreFileSchema,
  UpdateVectorStoreSchema,
  VectorStoreSearchSchema,
} from "./schemas.ts";
import { searchVectorStores } from "./search.ts";
import { chunkingOf, statusOf, VectorStores } from "./vector-stores.ts";

/** How long the SDK's createAndPoll / uploadAndPoll waits between polls of unfinished work. */
const POLL_AFTER_MS = "200";

const FILE_STATUSES = ["in_progress", "completed", "failed", "cancelled"];

/** The routes of /openai/v1 over the given services. */
export function openaiCompatRoutes(services: Services) {
  const files = new FileRepository(services.store);
  const vectorStores = new VectorStores({
    store: services.store,
    ingest: services.ingest,
    embedders: services.embedders,
    files,
  });
  const app = new Hono();
  const pollHint = (c: Context, inProgress: boolean): void => {
    if (inProgress) c.header("openai-poll-after-ms", POLL_AFTER_MS);
  };
  const statusFilter = (c: Context): string | undefined => {
    const filter = c.req.query("filter");
    if (filter !== undefined && !FILE_STATUSES.includes(filter)) {
      throw new AppError("invalid_request", `filter: one of ${FILE_STATUSES.join(", ")}.`, {
        param: "filter",
      });
    }
    return filter;
  };

  // --- files ---
  app.post("/files", async (c) => {
    const form = await c.req.parseBody().catch(() => {
      throw new AppError("invalid_request", "Send the file as multipart/form-data.");
    });
    const file = form.file;
    if (!(file instanceof File)) {
      throw new AppError("invalid_request", 'file: a file part named "file" is required.', {
        param: "file",
      });
    }
    const purpose = form.purpose;
    if (typeof purpose !== "string" || !FILE_PURPOSES.includes(purpose as FilePurpose)) {
      throw new AppError(
        "invalid_request",
        `purpose: Gleaner keeps files for ${FILE_PURPOSES.join(" or ")} (vector stores).`,
        { param: "purpose" },
      );
    }
    const created = await files.create({
      filename: file.name || "upload",
      purpose: purpose as FilePurpose,
      mediaType: file.type || null,
      bytes: new Uint8Array(await file.arrayBuffer()),
    });
    return c.json(fileJson(created), 200);
  });
  app.get("/files", async (c) => {
    const page = query(c, FilePageQuerySchema);
    const listed = await files.list(c.req.query("purpose"));
    return c.json(paginate(listed.map(fileJson), page), 200);
  });
  app.get("/files/:id", async (c) => c.json(fileJson(await files.get(c.req.param("id"))), 200));
  app.get("/files/:id/content", async (c) => {
    const file = await files.get(c.req.param("id"));
    const bytes = await files.content(file.id);
    // served as a download, never rendered: an uploaded HTML or script file must not run on
    // Gleaner's origin, whatever type its uploader declared
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
    });
  });
  app.delete("/files/:id", async (c) => {
    const id = c.req.param("id");
    await files.get(id);
    await vectorStores.detachEverywhere(id);
    await files.delete(id);
    return c.json({ id, object: "file" as const, deleted: true }, 200);
  });

  // --- vector stores ---
  app.post("/vector_stores", async (c) => {
    const body = await jsonBody(c, CreateVectorStoreSchema);
    const view = await vectorStores.create({
      name: body.name,
      metadata: body.metadata,
      expiresAfter: body.expires_after,
      fileIds: body.file_ids,
      chunking: body.chunking_strategy,
    });
    return c.json(vectorStoreJson(view), 200);
  });
  app.get("/vector_stores", async (c) => {
    const page = query(c, PageQuerySchema);
    const views = await vectorStores.list();
    return c.json(paginate(views.map(vectorStoreJson), page), 200);
  });
  app.get("/vector_stores/:id", async (c) => {
    const json = vectorStoreJson(await vectorStores.get(c.req.param("id")));
    pollHint(c, json.status === "in_progress");
    return c.json(json, 200);
  });
  app.post("/vector_stores/:id", async (c) => {
    const body = await jsonBody(c, UpdateVectorStoreSchema);
    const view = await vectorStores.update(c.req.param("id"), {
      name: body.name,
      metadata: body.metadata,
      expiresAfter: body.expires_after,
    });
    return c.json(vectorStoreJson(view), 200);
  });
  app.delete("/vector_stores/:id", async (c) => {
    const id = c.req.param("id");
    await vectorStores.delete(id);
    return c.json({ id, object: "vector_store.deleted" as const, deleted: true }, 200);
  });

  // --- vector store files ---
  app.post("/vector_stores/:id/files", async (c) => {
    const body = await jsonBody(c, CreateVectorStoreFileSchema);
    const id = c.req.param("id");
    await vectorStores.settings(id);
    const attachment = await vectorStores.attach(id, {
      fileId: body.file_id,
      attributes: body.attributes,
      chunking: chunkingOf(body.chunking_strategy),
    });
    return c.json(vectorStoreFileJson(attachment), 200);
  });
  app.get("/vector_stores/:id/files", async (c) => {
    const page = query(c, PageQuerySchema);
    const filter = statusFilter(c);
    const attachments = (await vectorStores.get(c.req.param("id"))).attachments.filter(
      (attachment) => filter === undefined || statusOf(attachment) === filter,
    );
    return c.json(paginate(attachments.map(vectorStoreFileJson), page), 200);
  });
  app.get("/vector_stores/:id/files/:fileId", async (c) => {
    await vectorStores.settings(c.req.param("id"));
    const json = vectorStoreFileJson(
      await vectorStores.attachment(c.req.param("id"), c.req.param("fileId")),
    );
    pollHint(c, json.status === "in_progress");
    return c.json(json, 200);
  });
  app.post("/vector_stores/:id/files/:fileId", async (c) => {
    const body = await jsonBody(c, UpdateVectorStoreFileSchema);
    await vectorStores.settings(c.req.param("id"));
    const attachment = await vectorStores.updateAttributes(
      c.req.param("id"),
      c.req.param("fileId"),
      body.attributes,
    );
    return c.json(vectorStoreFileJson(attachment), 200);
  });
  app.delete("/vector_stores/:id/files/:fileId", async (c) => {
    await vectorStores.settings(c.req.param("id"));
    const fileId = c.req.param("fileId");
    await vectorStores.detach(c.req.param("id"), fileId);
    return c.json({ id: fileId, object: "vector_store.file.deleted" as const, deleted: true }, 200);
  });

  // --- file batches ---
  app.post("/vector_stores/:id/file_batches", async (c) => {
    const body = await jsonBody(c, CreateFileBatchSchema);
    const shared = { attributes: body.attributes, chunking: chunkingOf(body.chunking_strategy) };
    const batchFiles = body.files
      ? body.files.map((file) => ({
          fileId: file.file_id,
          attributes: file.attributes ?? body.attributes,
          chunking: file.chunking_strategy ? chunkingOf(file.chunking_strategy) : shared.chunking,
        }))
      : (body.file_ids ?? []).map((fileId) => ({ fileId, ...shared }));
    const batch = await vectorStores.createBatch(c.req.param("id"), { files: batchFiles });
    return c.json(fileBatchJson(batch), 200);
  });
  app.get("/vector_stores/:id/file_batches/:batchId", async (c) => {
    const json = fileBatchJson(await vectorStores.batch(c.req.param("id"), c.req.param("batchId")));
    pollHint(c, json.status === "in_progress");
    return c.json(json, 200);
  });
  app.post("/vector_stores/:id/file_batches/:batchId/cancel", async (c) => {
    const batch = await vectorStores.cancelBatch(c.req.param("id"), c.req.param("batchId"));
    return c.json(fileBatchJson(batch), 200);
  });
  app.get("/vector_stores/:id/file_batches/:batchId/files", async (c) => {
    const page = query(c, PageQuerySchema);
    const filter = statusFilter(c);
    const batch = await vectorStores.batch(c.req.param("id"), c.req.param("batchId"));
    const attachments = batch.attachments.filter(
      (attachment) => filter === undefined || statusOf(attachment) === filter,
    );
    return c.json(paginate(attachments.map(vectorStoreFileJson), page), 200);
  });

  // --- search ---
  app.post("/vector_stores/:id/search", async (c) => {
    const body = await jsonBody(c, VectorStoreSearchSchema);
    const queries = Array.isArray(body.query) ? body.query : [body.query];
    const result = await searchVectorStores(
      { search: services.search, vectorStores },
      {
        vectorStoreIds: [c.req.param("id")],
        queries,
        maxResults: body.max_num_results,
        filter: body.filters,
        scoreThreshold: body.ranking_options?.score_threshold,
      },
    );
    return c.json(
      {
        object: "vector_store.search_results.page" as const,
        search_query: queries,
        data: result.hits.map(({ hit, fileId, score }) => ({
          file_id: fileId,
          filename: hit.title ?? fileId,
          score,
          attributes: attributesOf(hit.metadata),
          content: [{ type: "text" as const, text: hit.text }],
        })),
        has_more: false,
        next_page: null,
      },
      200,
    );
  });

  app.route("/", responseRoutes(services, vectorStores));
  return app;
}
