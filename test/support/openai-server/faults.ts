import { ApiError } from "./http.ts";

/**
 * One injected failure, consumed by the next `times` requests it matches. Fields combine:
 * `{ delayMs }` alone delays a request that is then served normally; `{ delayMs, status }`
 * delays an error; `{ body }` replaces the reply with raw bytes.
 */
export interface Fault {
  /** Exact path (`"/v1/embeddings"`), a prefix ending in `*` (`"/v1/batches*"`), or a RegExp; any when omitted. */
  path?: string | RegExp;
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Number of matching requests affected (default 1; `Infinity` keeps it until cleared). */
  times?: number;
  /** Wait before replying; past the client's timeout it sees a timeout. */
  delayMs?: number;
  /** Reply with this status and OpenAI's error envelope for it (unless `body` is given). */
  status?: number;
  /** Seconds for the `retry-after` header. */
  retryAfter?: number;
  /** Milliseconds for the `retry-after-ms` header (the SDK prefers it over `retry-after`). */
  retryAfterMs?: number;
  /** Raw reply body (truncated or invalid JSON, say), sent with `status` (default 200). */
  body?: string;
  /** Content type for `body` (default `application/json`, as a broken upstream would claim). */
  contentType?: string;
  /** Extra reply headers. */
  headers?: Record<string, string>;
  /** Overrides for the fields of the error envelope. */
  error?: { message?: string; type?: string; param?: string | null; code?: string | null };
  /** Destroy the socket without replying: the client sees a connection error. */
  dropConnection?: boolean;
}

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

/** Faults in injection order; the first one matching a request is used (and counted down). */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  /** Appends faults to the queue. */
  add(faults: readonly Fault[]): void {
    for (const fault of faults) this.#queue.push({ fault, remaining: fault.times ?? 1 });
  }

  /** Forgets every queued fault. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Faults not yet used up. */
  pending(): Fault[] {
    return this.#queue.map((entry) => entry.fault);
  }

  /** Takes the first fault matching a request, counting it down. */
  take(method: string, path: string): Fault | undefined {
    const index = this.#queue.findIndex((entry) => faultMatches(entry.fault, method, path));
    const entry = this.#queue[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#queue.splice(index, 1);
    return entry.fault;
  }
}

/** Whether a fault applies to a request. */
export function faultMatches(fault: Fault, method: string, path: string): boolean {
  if (fault.method && fault.method.toUpperCase() !== method) return false;
  const pattern = fault.path;
  if (pattern === undefined) return true;
  if (pattern instanceof RegExp) return pattern.test(path);
  if (pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  return path === pattern;
}

const DEFAULT_ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  408: { message: "Request timed out.", type: "server_error", code: null },
  409: {
    message: "Conflict: please retry the request.",
    type: "invalid_request_error",
    code: null,
  },
  429: {
    message:
      "Rate limit reached for requests per min (RPM): Limit 3000, Used 3000, Requested 1. Please try again in 20ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
    type: "requests",
    code: "rate_limit_exceeded",
  },
  500: {
    message:
      "The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if the error persists.",
    type: "server_error",
    code: null,
  },
  502: { message: "Bad gateway.", type: "server_error", code: null },
  503: {
    message: "The engine is currently overloaded, please try again later.",
    type: "server_error",
    code: null,
  },
};

/** The OpenAI-shaped error a fault with `status` produces, with its rate-limit headers. */
export function faultError(fault: Fault, status: number): ApiError {
  const defaults = DEFAULT_ERRORS[status] ?? {
    message: `Injected failure with status ${status}.`,
    type: status >= 500 ? "server_error" : "invalid_request_error",
    code: null,
  };
  const headers: Record<string, string> = { ...fault.headers };
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
  if (status === 429) {
    headers["x-ratelimit-limit-requests"] ??= "3000";
    headers["x-ratelimit-remaining-requests"] ??= "0";
    headers["x-ratelimit-reset-requests"] ??= `${fault.retryAfter ?? 1}s`;
  }
  return new ApiError(status, fault.error?.message ?? defaults.message, {
    type: fault.error?.type ?? defaults.type,
    param: fault.error?.param ?? null,
    code: fault.error?.code !== undefined ? fault.error.code : defaults.code,
    headers,
  });
}
