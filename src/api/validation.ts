import type { Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { AppError } from "../errors.ts";

interface Issue {
  path: PropertyKey[];
  message: string;
}

/** The first validation issue as an invalid_request error naming the field. */
export function invalidRequest(issues: readonly Issue[], target?: string): AppError {
  const issue = issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.map(String).join(".") : null;
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
