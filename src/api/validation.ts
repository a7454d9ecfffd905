import type { Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { AppError } from "../errors.ts";

interface Issue {
  path: PropertyKey[];
  message: string;
  /** zod puts what was wrong with a record's key here, under a generic "Invalid key" issue. */
  issues?: readonly Issue[];
}

const PLAIN_SEGMENT = /^[\p{L}\p{N}_$-]+$/u;

/** A path segment as written in the message: plain names bare, anything odd as a JSON string. */
function segment(key: PropertyKey): string {
  const text = String(key);
  return PLAIN_SEGMENT.test(text) ? text : JSON.stringify(text);
}

/** The first validation issue as an invalid_request error naming the field. */
export function invalidRequest(issues: readonly Issue[], target?: string): AppError {
  const first = issues[0];
  const issue = first?.issues?.[0] ? { ...first.issues[0], path: first.path } : first;
  const param = issue && issue.path.length > 0 ? issue.path.map(segment).join(".") : null;
  const where = param ? `${param}: ` : target === "json" ? "body: " : "";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem(s))` : "";
  return new AppError("invalid_request", `${where}${issue?.message ?? "Invalid request."}${more}`, {
    param,
  });
}

/** zod-openapi's hook: every validation failure becomes the API's error envelope. */
// biome-ignore lint/suspicious/noExplicitAny: the hook must accept every route's inferred types
export const validationHook: Hook<any, Env, any, any> = (result) => {
  if (!result.success) {
    throw invalidRequest(result.error.issues, result.target);
  }
};
