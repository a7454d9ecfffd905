import { type ClientResponse, hc } from "hono/client";
import type { AppType } from "../api/app.ts";
import { answerEvents } from "./answer.ts";
import { errorFromResponse } from "./errors.ts";
import type {
  AnswerEvent,
  AnswerRequest,
  AnswerResponse,
  Collection,
  CreateCollectionRequest,
  GleanerDocument,
  ListDocumentsQuery,
  SearchRequest,
  SearchResponse,
  TextDocument,
} from "./types.ts";
import { hasXhr, type UploadProgress, xhrFetch } from "./xhr-fetch.ts";

export { type ErrorEnvelope, GleanerError } from "./errors.ts";
export type * from "./types.ts";
export type { UploadProgress } from "./xhr-fetch.ts";

export interface GleanerClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** A bearer key, or a function read before every request (so it can change). */
  apiKey?: string | null | (() => string | null | undefined);
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
}

export interface UploadOptions {
  id?: string;
  title?: string;
  metadata?: Record<string, unknown>;
  /** `false` returns at once with status `queued` (default `true`: returns when ready). */
  wait?: boolean;
  /** Upload progress; in a browser this switches the request to XMLHttpRequest. */
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/**
 * A typed client of the Gleaner API, built on `hono/client` over the server's own route types,
 * so a changed route or schema fails the type check here rather than at run time. Every
 * method resolves with the success body or rejects with a `GleanerError`.
 */
export function createGleanerClient(options: GleanerClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const authHeaders = (): Record<string, string> => {
    const key = typeof options.apiKey === "function" ? options.apiKey() : options.apiKey;
    return key ? { authorization: `Bearer ${key}` } : {};
  };
  const api = hc<AppType>(baseUrl, { fetch: fetchImpl, headers: authHeaders });
  // the typed routes under /v1/collections/{name}; the name goes in `param`
  const named = api.v1.collections[":name"];

  return {
    /** The underlying `hono/client` instance, for routes without a helper here. */
    api,
    collections: {
      list: async (): Promise<Collection[]> => (await ok(api.v1.collections.$get(), 200)).data,
      get: (name: string) => ok(named.$get({ param: { name } }), 200),
      create: (request: CreateCollectionRequest) =>
        ok(api.v1.collections.$post({ json: request }), 201),
      delete: async (name: string): Promise<void> => {
        await ok(named.$delete({ param: { name } }), 204);
      },
    },
    documents: {
      list: (name: string, query: ListDocumentsQuery = {}) =>
        ok(named.documents.$get({ param: { name }, query }), 200),
      get: (name: string, id: string) =>
        ok(named.documents[":id"].$get({ param: { name, id } }), 200),
      delete: async (name: string, id: string): Promise<void> => {
        await ok(named.documents[":id"].$delete({ param: { name, id } }), 204);
      },
      /** Uploads one file (multipart); resolves with the Document. */
      upload: async (
        name: string,
        file: Blob,
        upload: UploadOptions & { filename?: string } = {},
      ): Promise<GleanerDocument> => {
        const form = new FormData();
        const filename = upload.filename ?? (file instanceof File ? file.name : "upload");
        form.set("file", file, filename);
        if (upload.id !== undefined) form.set("id", upload.id);
        if (upload.title !== undefined) form.set("title", upload.title);
        if (upload.metadata !== undefined) form.set("metadata", JSON.stringify(upload.metadata));
        const send = upload.onProgress && hasXhr() ? xhrFetch(upload.onProgress) : fetchImpl;
        const response = await send(uploadUrl(name, upload.wait), {
          method: "POST",
          headers: authHeaders(),
          body: form,
          ...(upload.signal ? { signal: upload.signal } : {}),
        });
        if (!response.ok) throw await errorFromResponse(response);
        return (await response.json()) as GleanerDocument;
      },
      /** Adds text documents as JSON, one or many; resolves with the stored Documents. */
      addText: async (
        name: string,
        documents: TextDocument | TextDocument[],
        { wait = true }: { wait?: boolean } = {},
      ): Promise<GleanerDocument[]> => {
        const body = Array.isArray(documents) ? { documents } : documents;
        const response = await fetchImpl(uploadUrl(name, wait), {
          method: "POST",
          headers: { ...authHeaders(), "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        if (!response.ok) throw await errorFromResponse(response);
        const parsed = (await response.json()) as GleanerDocument | { data: GleanerDocument[] };
        return "data" in parsed ? parsed.data : [parsed];
      },
    },
    search: (name: string, request: SearchRequest): Promise<SearchResponse> =>
      ok(named.search.$post({ param: { name }, json: request }), 200),
    /** A grounded answer with its citations and sources (not streamed). */
    answer: async (name: string, request: AnswerRequest): Promise<AnswerResponse> => {
      const response = await postAnswer(name, request, false);
      return (await response.json()) as AnswerResponse;
    },
    /**
     * Streams an answer: yields `sources`, then `delta`s, then `done` with the full answer.
     * An `error` event from the server is thrown as a GleanerError.
     */
    answerStream: async function* (
      name: string,
      request: AnswerRequest,
      { signal }: { signal?: AbortSignal } = {},
    ): AsyncGenerator<AnswerEvent> {
      const response = await postAnswer(name, request, true, signal);
      if (!response.body) return;
      yield* answerEvents(response.body);
    },
  };

  // multipart and JSON bodies share one route whose generated input type demands both at
  // once, so uploads send their own body to the route's typed URL
  function uploadUrl(name: string, wait: boolean | undefined): string {
    const query = wait === undefined ? {} : { wait: wait ? ("true" as const) : ("false" as const) };
    return named.documents.$url({ param: { name }, query }).toString();
  }

  async function postAnswer(
    name: string,
    request: AnswerRequest,
    stream: boolean,
    signal?: AbortSignal,
  ): Promise<Response> {
    const response = await named.answer.$post(
      { param: { name }, json: { ...request, stream } },
      signal ? { init: { signal } } : undefined,
    );
    if (response.status !== 200) throw await errorFromResponse(response);
    return response as unknown as Response;
  }
}

export type GleanerClient = ReturnType<typeof createGleanerClient>;

/** The body of the expected success status; any other reply becomes a GleanerError. */
async function ok<R extends ClientResponse<unknown, number, string>, S extends R["status"]>(
  pending: Promise<R>,
  status: S,
): Promise<R extends ClientResponse<infer T, S, infer _Format> ? T : never> {
  const response = await pending;
  if (response.status !== status) throw await errorFromResponse(response);
  if (status === 204) return undefined as never;
  return (await response.json()) as never;
}
