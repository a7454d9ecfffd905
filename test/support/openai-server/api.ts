import type { BatchBehaviour } from "./batches.ts";
import type { EmbeddingLimits, EmbeddingModelInfo } from "./embeddings.ts";
import type { Fault } from "./faults.ts";
import type { Json } from "./http.ts";
import type { MultipartBody } from "./intake.ts";
import type { Responder, StreamErrorShape } from "./responses.ts";
import type { SchemaCheck } from "./schemas.ts";

/** Options of `startOpenAIServer`; every one has a default. */
export interface OpenAIServerOptions {
  /** The OpenAPI description (default: shared/openai-openapi beside the repo; `null` disables validation). */
  specPath?: string | URL | null;
  /** Require exactly this bearer key (default: any non-empty key). */
  apiKey?: string;
  /** Behaviour of /v1/responses (default: deterministic echo, or an example of the JSON schema asked for). */
  responder?: Responder;
  /** Pause between streamed deltas (default 0). */
  deltaDelayMs?: number;
  /** Reasoning tokens billed per response unless the responder says otherwise (default 0). */
  reasoningTokens?: number;
  /** Shape of mid-stream `error` events (default "spec"). */
  streamErrorShape?: StreamErrorShape;
  /** Extra or replacement embedding models. */
  embeddingModels?: Record<string, EmbeddingModelInfo>;
  /** Overrides of OpenAI's embedding limits (2048 inputs, 8191 tokens each, 300,000 per request). */
  embeddingLimits?: Partial<EmbeddingLimits>;
  /** How batches progress and end (see `setBatchBehaviour`). */
  batch?: BatchBehaviour;
  /** Recorded requests kept (oldest dropped first; default 500). */
  maxRecordedRequests?: number;
  /** Bodies larger than this are not kept in records (default 1 MiB). */
  maxRecordedBodyBytes?: number;
  /** Largest request body accepted (default 64 MiB). */
  maxBodyBytes?: number;
  /** Check the server's own replies and events against the spec (default true). */
  validateReplies?: boolean;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON, or the raw text when it was not JSON (undefined when empty, multipart or omitted). */
  body: Json | undefined;
  /** Fields and files of a multipart body (file uploads). */
  multipart: MultipartBody | null;
  bodyBytes: number;
  /** True when the body was too large to keep (see `maxRecordedBodyBytes`). */
  bodyOmitted: boolean;
  /** The request-schema check, when the route has one and the spec is available. */
  validation: SchemaCheck | null;
  /** The fault applied, if any. */
  fault: Fault | null;
  /** Reply status, once headers were sent. */
  status: number | null;
  streamed: boolean;
  /** The client went away before the reply was complete. */
  aborted: boolean;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  durationMs: number | null;
}

/** A reply or stream event of this server that does not match the spec. */
export interface ConformanceProblem {
  method: string;
  path: string;
  check: SchemaCheck;
}

/** A running server; see `startOpenAIServer`. */
export interface OpenAIServer {
  /** What the `openai` SDK takes as `baseURL`, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseURL: string;
  readonly port: number;
  /** False when the spec was not found: requests are then not validated against it. */
  readonly schemaValidation: boolean;
  readonly requests: readonly RecordedRequest[];
  readonly conformanceProblems: readonly ConformanceProblem[];
  /** Queues faults, consumed in order by the next matching requests. */
  injectFaults(faults: readonly Fault[]): void;
  clearFaults(): void;
  /** While on, every matching request fails (500 by default), before any queued fault. */
  setDeadUpstream(dead: boolean | Omit<Fault, "times">): void;
  /** Sets the /v1/responses behaviour; no argument restores the default. */
  setResponder(responder?: Responder): void;
  /** Sets how batches created from now on progress and end. */
  setBatchBehaviour(behaviour: BatchBehaviour): void;
  /** Recorded requests for a path (and method). */
  requestsTo(path: string, method?: string): RecordedRequest[];
  /** Resolves with the first recorded request matching, polling until `timeoutMs`. */
  waitForRequest(
    match: (record: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  /** Clears records, faults, dead upstream, responder, batch behaviour, files, batches and stored responses. */
  reset(): void;
  close(): Promise<void>;
}
