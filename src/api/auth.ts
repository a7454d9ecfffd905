import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";

export interface ApiKeys {
  full: string[];
  readOnly: string[];
}

const digest = (key: string): Buffer => createHash("sha256").update(key).digest();

/** Routes a read-only key may call besides GET: POSTs that only read (OpenAI's /responses too). */
const READ_ONLY_POST = /\/(search|answer)$|^\/openai\/v1\/responses$/;

/**
 * Bearer-key authentication for /v1 routes. Keys are compared as SHA-256 digests with a
 * constant-time comparison, so neither content nor length leaks through timing.
 */
export function apiKeyAuth(keys: ApiKeys): MiddlewareHandler {
  const full = keys.full.map(digest);
  const readOnly = keys.readOnly.map(digest);
  const matches = (candidate: Buffer, list: Buffer[]): boolean =>
    list.reduce((found, key) => timingSafeEqual(candidate, key) || found, false);

  return async (c, next) => {
    if (full.length === 0 && readOnly.length === 0) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) {
      throw new AppError("unauthorized", "Send an API key as 'Authorization: Bearer <key>'.");
    }
    const candidate = digest(match[1] as string);
    if (matches(candidate, full)) return next();
    if (matches(candidate, readOnly)) {
      const method = c.req.method;
      const reads =
        method === "GET" ||
        method === "HEAD" ||
        (method === "POST" && READ_ONLY_POST.test(c.req.path));
      if (reads) return next();
      throw new AppError(
        "forbidden",
        "This API key may only read; use a full-access key to write.",
      );
    }
    throw new AppError("unauthorized", "The API key is not valid.");
  };
}
