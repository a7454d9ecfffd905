import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** OpenAI's error envelope, as every non-2xx JSON reply carries it. */
export type OpenAIErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

/** An error that becomes an OpenAI-shaped HTTP reply. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: {
      type?: string;
      param?: string | null;
      code?: string | null;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = options.type ?? "invalid_request_error";
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }

  /** The JSON body OpenAI would send for this error. */
  toBody(): OpenAIErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** OpenAI's 400 for a missing required parameter. */
export function missingParameter(param: string): ApiError {
  return new ApiError(400, `Missing required parameter: '${param}'.`, {
    param,
    code: "missing_required_parameter",
  });
}

/** A JSON value, as parsed from or sent over the wire. */
export type Json = null | boolean | number | string | Json[] | JsonObject;

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Parses JSON text (throws SyntaxError like JSON.parse). */
export function parseJson(text: string): Json {
  return JSON.parse(text);
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: Json | undefined): value is JsonObject;
export function isRecord(value: unknown): value is Record<string, unknown>;
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An id in OpenAI's style: a prefix and random hex, e.g. `resp_6f1c…`. */
export function newId(prefix: string, bytes = 24): string {
  return `${prefix}${randomBytes(bytes).toString("hex")}`;
}

/** Current time in whole Unix seconds, as OpenAI's `created_at` fields use. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** Reads a request body fully, refusing more than `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) {
      throw new ApiError(413, `Request body too large: more than ${limit} bytes.`, {
        code: "request_too_large",
      });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Sends a complete reply (JSON when `body` is not a Buffer or string). */
export function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.destroyed || response.writableEnded) return;
  const isRaw = typeof body === "string" || Buffer.isBuffer(body);
  const payload = isRaw ? body : JSON.stringify(body);
  response.writeHead(status, {
    "content-type": isRaw ? "text/plain; charset=utf-8" : "application/json",
    "content-length": String(Buffer.byteLength(payload)),
    ...headers,
  });
  response.end(payload);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
