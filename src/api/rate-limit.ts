import { createHash } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";

export interface RateLimitOptions {
  /** Tokens added per second; 0 turns limiting off. */
  requestsPerSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
  /** Buckets kept at most; full (idle) buckets are dropped first. */
  maxBuckets?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per caller. Each request takes one token; tokens refill continuously at the
 * configured rate up to the burst size, so a steady client is never limited below that rate.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxBuckets: number;
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.maxBuckets = options.maxBuckets ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Takes a token for `caller`; returns 0 when allowed, else the seconds until one is free. */
  take(caller: string): number {
    const { requestsPerSecond, burst } = this.options;
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: burst, updatedMs: now };
    bucket.tokens = Math.min(
      burst,
      bucket.tokens + ((now - bucket.updatedMs) / 1000) * requestsPerSecond,
    );
    bucket.updatedMs = now;
    // re-inserting keeps the Map in least-recently-used order for eviction
    this.buckets.delete(caller);
    this.buckets.set(caller, bucket);
    if (this.buckets.size > this.maxBuckets) this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / requestsPerSecond;
  }

  private evict(): void {
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) return;
      this.buckets.delete(caller);
    }
  }
}

/** The caller a bucket belongs to: its API key (hashed, never kept in clear) or its address. */
function callerOf(c: Context): string {
  const header = c.req.header("authorization");
  const key = header ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] : undefined;
  if (key) return `key:${createHash("sha256").update(key).digest("hex")}`;
  let address = "unknown";
  try {
    address = getConnInfo(c).remote.address ?? "unknown";
  } catch {
    // not served by @hono/node-server (app.request in-process): one shared bucket
  }
  return `ip:${address}`;
}

/**
 * Per-key rate limiting (per client address when no keys are configured). Register it after
 * authentication, so only valid keys get buckets; a limited request gets 429 `rate_limited`
 * with `retry-after`.
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  if (options.requestsPerSecond <= 0) return (_c, next) => next();
  const buckets = new TokenBuckets(options);
  return async (c, next) => {
    const wait = buckets.take(callerOf(c));
    if (wait > 0) {
      throw new AppError(
        "rate_limited",
        `Too many requests: this key may make ${options.requestsPerSecond} requests per second (bursts of ${options.burst}); retry after the time in the retry-after header.`,
        { retryAfterSeconds: Math.max(1, Math.ceil(wait)) },
      );
    }
    await next();
  };
}
