import type { ServerResponse } from "node:http";
import type { BatchStore } from "./batches.ts";
import { createEmbeddings, type EmbeddingContext } from "./embeddings.ts";
import { type FileStore, fileObject } from "./files.ts";
import { ApiError, isRecord, type Json, type JsonObject, missingParameter } from "./http.ts";
import type { MultipartBody } from "./intake.ts";
import { writeResponseStream } from "./response-stream.ts";
import {
  planResponse,
  type Responder,
  resolveHistory,
  type StoredResponse,
  type StreamErrorShape,
  toResponderRequest,
} from "./responses.ts";
import type { SchemaName, SchemaRegistry } from "./schemas.ts";

/** Long-lived state the handlers share. */
export interface Services {
  schemas: SchemaRegistry;
  embeddings: EmbeddingContext;
  files: FileStore;
  batches: BatchStore;
  responses: Map<string, StoredResponse>;
  maxStoredResponses: number;
  responder: () => Responder;
  responseDefaults: {
    reasoningTokens: number;
    deltaDelayMs: number;
    streamErrorShape: StreamErrorShape;
  };
}

/** One request as a handler sees it. */
export interface RouteContext {
  params: string[];
  json: Json | undefined;
  multipart: MultipartBody | undefined;
  response: ServerResponse;
  signal: AbortSignal;
  headers: Record<string, string>;
  services: Services;
  /** Sends JSON, checking it against `schema` (conformance problems are collected, not thrown). */
  reply(status: number, body: Json, schema?: SchemaName): void;
  /** Records a reply or event that does not match the spec. */
  checkConformance(schema: SchemaName, value: Json): void;
  /** Marks the request as streamed. */
  markStreamed(): void;
}

type Handler = (context: RouteContext) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

function requireJsonObject(context: RouteContext): JsonObject {
  if (!isRecord(context.json)) {
    throw new ApiError(400, "The request body must be a JSON object.", { code: "invalid_request" });
  }
  return context.json;
}

const ROUTES: Route[] = [
  { method: "POST", pattern: /^\/v1\/embeddings$/, handler: embeddings },
  { method: "POST", pattern: /^\/v1\/responses$/, handler: createResponse },
  { method: "GET", pattern: /^\/v1\/responses\/([^/]+)$/, handler: retrieveResponse },
  { method: "DELETE", pattern: /^\/v1\/responses\/([^/]+)$/, handler: deleteResponse },
  { method: "POST", pattern: /^\/v1\/files$/, handler: uploadFile },
  { method: "GET", pattern: /^\/v1\/files$/, handler: listFiles },
  { method: "GET", pattern: /^\/v1\/files\/([^/]+)$/, handler: retrieveFile },
  { method: "DELETE", pattern: /^\/v1\/files\/([^/]+)$/, handler: deleteFile },
  { method: "GET", pattern: /^\/v1\/files\/([^/]+)\/content$/, handler: fileContent },
  { method: "POST", pattern: /^\/v1\/batches$/, handler: createBatch },
  { method: "GET", pattern: /^\/v1\/batches$/, handler: listBatches },
  { method: "GET", pattern: /^\/v1\/batches\/([^/]+)$/, handler: retrieveBatch },
  { method: "POST", pattern: /^\/v1\/batches\/([^/]+)\/cancel$/, handler: cancelBatch },
];

/** The handler and path parameters for a request, or undefined (a 404). */
export function findRoute(
  method: string,
  path: string,
): { handler: Handler; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { handler: route.handler, params: match.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

function embeddings(context: RouteContext): void {
  const result = createEmbeddings(context.json, context.services.embeddings);
  if (result.data.some((item) => typeof item.embedding === "string")) {
    // The spec types `embedding` as number[] only; check the base64 form with the vectors elided.
    context.checkConformance("CreateEmbeddingResponse", {
      ...result,
      data: result.data.map((item) => ({ ...item, embedding: [] })),
    });
    context.reply(200, result);
  } else {
    context.reply(200, result, "CreateEmbeddingResponse");
  }
}

async function createResponse(context: RouteContext): Promise<void> {
  const { services } = context;
  services.schemas.assertRequest("CreateResponse", context.json);
  const body = requireJsonObject(context);
  const history = resolveHistory(body, services.responses);
  const request = toResponderRequest(body, history);
  const result = await services.responder()(request);
  const plan = planResponse(request, result, services.responseDefaults);
  if (body.store !== false && plan.final.status !== "failed") {
    services.responses.set(String(plan.final.id), plan.stored);
    for (const id of services.responses.keys()) {
      if (services.responses.size <= services.maxStoredResponses) break;
      services.responses.delete(id);
    }
  }
  if (body.stream === true) {
    context.markStreamed();
    await writeResponseStream(context.response, plan, {
      signal: context.signal,
      headers: context.headers,
      onEvent: (event) => {
        const productionError = event.type === "error" && "error" in event;
        if (!productionError) context.checkConformance("ResponseStreamEvent", event);
      },
    });
    return;
  }
  if (plan.streamError) {
    throw new ApiError(500, plan.streamError.message, {
      type: "server_error",
      code: plan.streamError.code,
    });
  }
  context.reply(200, plan.final, "Response");
}

function storedResponse(context: RouteContext): StoredResponse {
  const id = context.params[0] ?? "";
  const stored = context.services.responses.get(id);
  if (!stored)
    throw new ApiError(404, `Response with id '${id}' not found.`, { param: "response_id" });
  return stored;
}

function retrieveResponse(context: RouteContext): void {
  context.reply(200, storedResponse(context).response, "Response");
}

function deleteResponse(context: RouteContext): void {
  const id = String(storedResponse(context).response.id);
  context.services.responses.delete(id);
  context.reply(200, { id, object: "response.deleted", deleted: true });
}

function uploadFile(context: RouteContext): void {
  const multipart = context.multipart;
  if (!multipart) {
    throw new ApiError(400, "Expected a multipart/form-data body with 'file' and 'purpose'.", {
      code: "invalid_request",
    });
  }
  const file = multipart.files.find((entry) => entry.field === "file");
  const { fields } = multipart;
  const seconds = fields["expires_after[seconds]"];
  const asRequest: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!key.startsWith("expires_after[")) asRequest[key] = value;
  }
  if (file) asRequest.file = "<binary>";
  if (fields["expires_after[anchor]"] !== undefined || seconds !== undefined) {
    asRequest.expires_after = {
      anchor: fields["expires_after[anchor]"] ?? null,
      seconds: Number(seconds),
    };
  }
  context.services.schemas.assertRequest("CreateFileRequest", asRequest);
  if (!file) throw missingParameter("file");
  const purpose = fields.purpose;
  if (purpose === undefined) {
    throw missingParameter("purpose");
  }
  const stored = context.services.files.create({
    filename: file.filename,
    purpose,
    content: file.content,
    ...(seconds === undefined ? {} : { expiresAfterSeconds: Number(seconds) }),
  });
  context.reply(200, fileObject(stored), "OpenAIFile");
}

function listFiles(context: RouteContext): void {
  const data = context.services.files.list().map(fileObject);
  context.reply(200, {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: false,
  });
}

function retrieveFile(context: RouteContext): void {
  context.reply(200, fileObject(context.services.files.get(context.params[0] ?? "")), "OpenAIFile");
}

function deleteFile(context: RouteContext): void {
  const id = context.params[0] ?? "";
  context.services.files.delete(id);
  context.reply(200, { id, object: "file", deleted: true });
}

function fileContent(context: RouteContext): void {
  const file = context.services.files.get(context.params[0] ?? "");
  context.response.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": String(file.content.length),
    ...context.headers,
  });
  context.response.end(file.content);
}

function createBatch(context: RouteContext): void {
  context.services.schemas.assertRequest("CreateBatchRequest", context.json);
  const body = requireJsonObject(context);
  for (const key of ["input_file_id", "endpoint", "completion_window"]) {
    if (body[key] === undefined) {
      throw missingParameter(key);
    }
  }
  context.reply(200, context.services.batches.create(body), "Batch");
}

function listBatches(context: RouteContext): void {
  const data = context.services.batches.list();
  context.reply(200, {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: false,
  });
}

function retrieveBatch(context: RouteContext): void {
  context.reply(200, context.services.batches.poll(context.params[0] ?? ""), "Batch");
}

function cancelBatch(context: RouteContext): void {
  context.reply(200, context.services.batches.cancel(context.params[0] ?? ""), "Batch");
}
