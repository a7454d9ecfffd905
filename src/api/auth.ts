import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";

export interface ApiKeys {
  full: string[];
  readOnly: string[];
}

/** What a caller may do: everything, or only read. */
export type Access = "full" | "read";

const digest = (key: string): Buffer => createHash("sha256").update(key).digest();

/** Routes a read-only key may call besides GET: POSTs that only read (OpenAI's /responses too). */
const READ_ONLY_POST = /\/(search|answer)$|^\/openai\/v1\/responses$/;

/**
 * Resolves an Authorization header to the caller's access; throws `unauthorized` for a missing
 * or unknown key. With no keys configured everyone has full access. Keys are compared as
 * SHA-256 digests with a constant-time comparison, so neither content nor length leaks through
 * timing.
 */
export function keyAccess(keys: ApiKeys): (authorization: string | undefined) => Access {
  const full = keys.full.map(digest);
  const readOnly = keys.readOnly.map(digest);
  const matches = (candidate: Buffer, list: Buffer[]): boolean =>
    list.reduce((found, key) => timingSafeEqual(candidate, key) || found, false);

  return (authorization) => {
    if (full.length === 0 && readOnly.length === 0) return "full";
    const match = /^Bearer\s+(.+)$/i.exec((authorization ?? "").trim());
    if (!match) {
      throw new AppError("unauthorized", "Send an API key as 'Authorization: Bearer <key>'.");
    }
    const candidate = digest(match[1] as string);
    if (matches(candidate, full)) return "full";
    if (matches(candidate, readOnly)) return "read";
    throw new AppError("unauthorized", "The API key is not valid.");
  };
}

/** Bearer-key authentication for /v1 routes: a read-only key may GET, search and answer. */
export function apiKeyAuth(keys: ApiKeys): MiddlewareHandler {
  const accessOf = keyAccess(keys);
  return async (c, next) => {
    if (accessOf(c.req.header("authorization")) === "full") return next();
    const method = c.req.method;
    const reads =
      method === "GET" ||
      method === "HEAD" ||
      (method === "POST" && READ_ONLY_POST.test(c.req.path));
    if (reads) return next();
    throw new AppError("forbidden", "This API key may only read; use a full-access key to write.");
  };
}
