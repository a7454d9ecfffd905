import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { AppError, notFound } from "../../errors.ts";
import type { SubmitOutcome, Upload } from "../../ingest/ingest-service.ts";
import type { Services } from "../../services.ts";
import type { DocumentRecord } from "../../store/store.ts";
import {
  CollectionNameParam,
  DocumentBulkSchema,
  DocumentIdSchema,
  DocumentListSchema,
  DocumentParams,
  DocumentSchema,
  DocumentsJsonBodySchema,
  DocumentsMultipartSchema,
  errorResponses,
  ListDocumentsQuerySchema,
  MetadataSchema,
  UploadQuerySchema,
} from "../schemas.ts";
import { documentJson } from "../serializers.ts";
import { invalidRequest, validationHook } from "../validation.ts";

const documentResponse = {
  content: { "application/json": { schema: DocumentSchema.or(DocumentBulkSchema) } },
};

const uploadDocuments = createRoute({
  method: "post",
  path: "/v1/collections/{name}/documents",
  tags: ["documents"],
  summary: "Upload a file (multipart) or text documents (JSON, single or bulk)",
  request: {
    params: CollectionNameParam,
    query: UploadQuerySchema,
    body: {
      required: false,
      content: {
        "application/json": { schema: DocumentsJsonBodySchema },
        "multipart/form-data": { schema: DocumentsMultipartSchema },
      },
    },
  },
  responses: {
    200: {
      description: "Unchanged: same id and content as the stored version",
      ...documentResponse,
    },
    201: { description: "Ingested and ready", ...documentResponse },
    202: { description: "Queued (wait=false)", ...documentResponse },
    ...errorResponses(400, 401, 403, 404, 413, 415, 422, 502),
  },
});

const listDocuments = createRoute({
  method: "get",
  path: "/v1/collections/{name}/documents",
  tags: ["documents"],
  summary: "List documents, ordered by id",
  request: { params: CollectionNameParam, query: ListDocumentsQuerySchema },
  responses: {
    200: { description: "OK", content: { "application/json": { schema: DocumentListSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const getDocument = createRoute({
  method: "get",
  path: "/v1/collections/{name}/documents/{id}",
  tags: ["documents"],
  summary: "Get a document",
  request: { params: DocumentParams },
  responses: {
    200: { description: "OK", content: { "application/json": { schema: DocumentSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const deleteDocument = createRoute({
  method: "delete",
  path: "/v1/collections/{name}/documents/{id}",
  tags: ["documents"],
  summary: "Delete a document and all its chunks",
  request: { params: DocumentParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
});

/** Routes over a collection's documents. */
export function documentRoutes(services: Services) {
  const { store, ingest } = services;

  const requireCollection = async (name: string): Promise<void> => {
    if (!(await store.getCollection(name))) throw notFound(`Collection "${name}"`, "name");
  };

  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(uploadDocuments, async (c) => {
      const { name } = c.req.valid("param");
      const { wait: waitParam, embedding_mode: embeddingMode } = c.req.valid("query");
      // a batch takes up to 24 hours: nobody waits for it
      const wait = waitParam && embeddingMode === "sync";
      await requireCollection(name);
      const contentType = c.req.header("content-type") ?? "";
      let uploads: Upload[];
      let bulk = false;
      if (contentType.toLowerCase().startsWith("multipart/form-data")) {
        uploads = [await fileUpload(name, c.req.valid("form") as Record<string, unknown>)];
      } else if (contentType.toLowerCase().startsWith("application/json")) {
        // zod-openapi types the body as any declared media type; this branch is JSON
        const body = c.req.valid("json") as z.infer<typeof DocumentsJsonBodySchema>;
        const documents = "documents" in body ? body.documents : [body];
        bulk = "documents" in body;
        uploads = documents.map((document) => ({
          collection: name,
          documentId: document.id,
          title: document.title,
          metadata: document.metadata,
          filename: null,
          declaredType: "text/plain",
          isText: true,
          bytes: new TextEncoder().encode(document.text),
        }));
        assertUniqueIds(uploads);
      } else {
        throw new AppError(
          "unsupported_media_type",
          "Send the document as multipart/form-data (a file) or application/json (text).",
        );
      }

      for (const upload of uploads) upload.embeddingMode = embeddingMode;
      if (!bulk) {
        const upload = uploads[0] as Upload;
        const submitted = await ingest.submit(upload, { discardOnFailure: wait });
        if (!submitted.queued) return c.json(documentJson(submitted.document), 200);
        if (!wait) return c.json(documentJson(submitted.document), 202);
        const document = await settle(submitted, services);
        return c.json(documentJson(document), 201);
      }

      const submissions: SubmitOutcome[] = await ingest.submitMany(uploads);
      if (!wait) return c.json({ data: submissions.map((s) => documentJson(s.document)) }, 202);
      const documents = await Promise.all(
        submissions.map(async (submitted) =>
          submitted.queued && submitted.jobId !== null
            ? ((await ingest.waitFor(submitted.jobId)).document ?? submitted.document)
            : submitted.document,
        ),
      );
      return c.json({ data: documents.map(documentJson) }, 201);
    })
    .openapi(listDocuments, async (c) => {
      const { name } = c.req.valid("param");
      const { limit, after } = c.req.valid("query");
      await requireCollection(name);
      const page = await store.listDocuments(name, { limit, after });
      const last = page.documents.at(-1);
      return c.json(
        {
          data: page.documents.map(documentJson),
          has_more: page.hasMore,
          next_after: page.hasMore && last ? last.id : null,
        },
        200,
      );
    })
    .openapi(getDocument, async (c) => {
      const { name, id } = c.req.valid("param");
      await requireCollection(name);
      const document = await store.getDocument(name, id);
      if (!document) throw notFound(`Document "${id}"`, "id");
      return c.json(documentJson(document), 200);
    })
    .openapi(deleteDocument, async (c) => {
      const { name, id } = c.req.valid("param");
      await requireCollection(name);
      if (!(await store.deleteDocument(name, id))) throw notFound(`Document "${id}"`, "id");
      return c.body(null, 204);
    });
}

/** Waits for a single upload's job; a failure becomes the request's error. */
async function settle(submitted: SubmitOutcome, services: Services): Promise<DocumentRecord> {
  const outcome = await services.ingest.waitFor(submitted.jobId as number);
  if (outcome.error) {
    throw new AppError(outcome.error.type, outcome.error.message, { param: outcome.error.param });
  }
  return outcome.document ?? submitted.document;
}

async function fileUpload(collection: string, form: Record<string, unknown>): Promise<Upload> {
  const file = form.file;
  if (!(file instanceof File)) {
    throw new AppError("invalid_request", 'file: a file part named "file" is required.', {
      param: "file",
    });
  }
  const id = optionalField(form, "id");
  if (id !== undefined) {
    const parsed = DocumentIdSchema.safeParse(id);
    if (!parsed.success)
      throw invalidRequest(parsed.error.issues.map((i) => ({ ...i, path: ["id"] })));
  }
  const metadataText = optionalField(form, "metadata");
  let metadata: Record<string, unknown> | undefined;
  if (metadataText !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(metadataText);
    } catch {
      throw new AppError("invalid_request", "metadata: must be a JSON object, as a string.", {
        param: "metadata",
      });
    }
    const parsed = MetadataSchema.safeParse(value);
    if (!parsed.success) {
      throw invalidRequest(
        parsed.error.issues.map((i) => ({ ...i, path: ["metadata", ...i.path] })),
      );
    }
    metadata = parsed.data;
  }
  const title = optionalField(form, "title");
  if (title !== undefined && title.length > 1000) {
    throw new AppError("invalid_request", "title: at most 1000 characters.", { param: "title" });
  }
  return {
    collection,
    documentId: id,
    title,
    metadata,
    filename: file.name || null,
    declaredType: file.type || null,
    bytes: new Uint8Array(await file.arrayBuffer()),
  };
}

function optionalField(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name];
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") {
    throw new AppError("invalid_request", `${name}: must be a text field.`, { param: name });
  }
  return value;
}

function assertUniqueIds(uploads: Upload[]): void {
  const seen = new Set<string>();
  for (const upload of uploads) {
    if (upload.documentId === undefined) continue;
    if (seen.has(upload.documentId)) {
      throw new AppError("invalid_request", `documents: id "${upload.documentId}" appears twice.`, {
        param: "documents",
      });
    }
    seen.add(upload.documentId);
  }
}
