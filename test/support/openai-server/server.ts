import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type {
  ConformanceProblem,
  OpenAIServer,
  OpenAIServerOptions,
  RecordedRequest,
} from "./api.ts";
import { BatchStore } from "./batches.ts";
import { DEFAULT_EMBEDDING_LIMITS, EMBEDDING_MODELS } from "./embeddings.ts";
import { type Fault, FaultQueue, faultError, faultMatches } from "./faults.ts";
import { FileStore } from "./files.ts";
import { ApiError, newId, readBody, send, sleep } from "./http.ts";
import { authorize, BAD_JSON_MESSAGE, flattenHeaders, parseBody } from "./intake.ts";
import { defaultResponder, type Responder, type StoredResponse } from "./responses.ts";
import { findRoute, type RouteContext, type Services } from "./routes.ts";
import { DEFAULT_SPEC_URL, loadSchemas, type SchemaName } from "./schemas.ts";
import { warmTokenizer } from "./tokens.ts";

/** JSON request bodies whose schema check is recorded on the request. */
const REQUEST_SCHEMAS = new Map<string, SchemaName>([
  ["/v1/embeddings", "CreateEmbeddingRequest"],
  ["/v1/responses", "CreateResponse"],
  ["/v1/batches", "CreateBatchRequest"],
]);

/** Starts a local OpenAI-compatible server on 127.0.0.1 with a free port. */
export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const schemas = loadSchemas(options.specPath === undefined ? DEFAULT_SPEC_URL : options.specPath);
  warmTokenizer();
  const embeddings = {
    schemas,
    models: { ...EMBEDDING_MODELS, ...options.embeddingModels },
    limits: { ...DEFAULT_EMBEDDING_LIMITS, ...options.embeddingLimits },
  };
  const files = new FileStore();
  const batches = new BatchStore(files, embeddings);
  batches.behaviour = { ...options.batch };
  let responder: Responder = options.responder ?? defaultResponder;
  const services: Services = {
    schemas,
    embeddings,
    files,
    batches,
    responses: new Map<string, StoredResponse>(),
    maxStoredResponses: 1000,
    responder: () => responder,
    responseDefaults: {
      reasoningTokens: options.reasoningTokens ?? 0,
      deltaDelayMs: options.deltaDelayMs ?? 0,
      streamErrorShape: options.streamErrorShape ?? "spec",
    },
  };
  const faults = new FaultQueue();
  let deadUpstream: Fault | null = null;
  const records: RecordedRequest[] = [];
  const conformanceProblems: ConformanceProblem[] = [];
  const maxRecords = options.maxRecordedRequests ?? 500;
  const closing = new AbortController();
  let seq = 0;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const method = (request.method ?? "GET").toUpperCase();
    const record: RecordedRequest = {
      seq: ++seq,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: flattenHeaders(request),
      body: undefined,
      multipart: null,
      bodyBytes: 0,
      bodyOmitted: false,
      validation: null,
      fault: null,
      status: null,
      streamed: false,
      aborted: false,
      at: Date.now(),
      durationMs: null,
    };
    records.push(record);
    if (records.length > maxRecords) records.splice(0, records.length - maxRecords);

    const requestAbort = new AbortController();
    const onServerClose = (): void => requestAbort.abort();
    closing.signal.addEventListener("abort", onServerClose, { once: true });
    response.on("close", () => {
      if (!response.writableFinished) record.aborted = true;
      record.status = response.headersSent ? response.statusCode : null;
      record.durationMs = performance.now() - started;
      closing.signal.removeEventListener("abort", onServerClose);
      requestAbort.abort();
    });
    const replyHeaders = {
      "x-request-id": newId("req_", 16),
      "openai-version": "2020-10-01",
      "openai-processing-ms": "1",
    };

    try {
      const raw = await readBody(request, options.maxBodyBytes ?? 64 * 1024 * 1024);
      const parsed = await parseBody(request.headers["content-type"] ?? "", raw);
      record.bodyBytes = raw.length;
      record.bodyOmitted = raw.length > (options.maxRecordedBodyBytes ?? 1024 * 1024);
      if (!record.bodyOmitted) {
        record.body = parsed.kind === "invalid-json" ? parsed.text : parsed.json;
        record.multipart = parsed.multipart ?? null;
      }

      authorize(request.headers.authorization, options.apiKey);
      const fault = takeFault(method, url.pathname);
      if (fault) {
        record.fault = fault;
        await sleep(fault.delayMs ?? 0, requestAbort.signal);
        if (requestAbort.signal.aborted) return;
        if (fault.dropConnection) {
          request.socket.destroy();
          return;
        }
        if (fault.body !== undefined) {
          send(response, fault.status ?? 200, fault.body, {
            "content-type": fault.contentType ?? "application/json",
            ...replyHeaders,
            ...fault.headers,
          });
          return;
        }
        if (fault.status !== undefined) throw faultError(fault, fault.status);
      }

      const route = findRoute(method, url.pathname);
      if (!route) throw new ApiError(404, `Invalid URL (${method} ${url.pathname})`);
      if (parsed.kind === "invalid-json") throw new ApiError(400, BAD_JSON_MESSAGE);
      const requestSchema = method === "POST" ? REQUEST_SCHEMAS.get(url.pathname) : undefined;
      if (requestSchema && schemas.available) {
        record.validation = schemas.check(requestSchema, parsed.json);
      }

      const context: RouteContext = {
        params: route.params,
        json: parsed.json,
        multipart: parsed.multipart,
        response,
        signal: requestAbort.signal,
        headers: replyHeaders,
        services,
        reply: (status, body, schema) => {
          if (schema) context.checkConformance(schema, body);
          send(response, status, body, replyHeaders);
        },
        checkConformance: (schema, value) => {
          if (options.validateReplies === false || !schemas.available) return;
          const check = schemas.check(schema, value);
          if (!check.ok && conformanceProblems.length < 1000) {
            conformanceProblems.push({ method, path: url.pathname, check });
          }
        },
        markStreamed: () => {
          record.streamed = true;
        },
      };
      await route.handler(context);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, `Test server bug: ${error instanceof Error ? error.stack : error}`, {
              type: "server_error",
            });
      send(response, apiError.status, apiError.toBody(), { ...replyHeaders, ...apiError.headers });
    }
  }

  function takeFault(method: string, path: string): Fault | undefined {
    if (deadUpstream && faultMatches(deadUpstream, method, path)) return deadUpstream;
    return faults.take(method, path);
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  const { port } = address;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    schemaValidation: schemas.available,
    requests: records,
    conformanceProblems,
    injectFaults: (injected) => faults.add(injected),
    clearFaults: () => {
      faults.clear();
      deadUpstream = null;
    },
    setDeadUpstream: (dead) => {
      deadUpstream =
        dead === false
          ? null
          : { status: 500, ...(dead === true ? {} : dead), times: Number.POSITIVE_INFINITY };
    },
    setResponder: (next) => {
      responder = next ?? defaultResponder;
    },
    setBatchBehaviour: (behaviour) => {
      batches.behaviour = { ...behaviour };
    },
    requestsTo: (path, method) =>
      records.filter(
        (record) => record.path === path && (!method || record.method === method.toUpperCase()),
      ),
    waitForRequest: async (match, timeoutMs = 2000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = records.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`No matching request within ${timeoutMs} ms`);
        await sleep(10);
      }
    },
    reset: () => {
      records.length = 0;
      conformanceProblems.length = 0;
      faults.clear();
      deadUpstream = null;
      responder = options.responder ?? defaultResponder;
      batches.behaviour = { ...options.batch };
      batches.clear();
      files.clear();
      services.responses.clear();
    },
    close: async () => {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
