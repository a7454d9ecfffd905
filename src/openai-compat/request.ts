import type { Context } from "hono";
import type { z } from "zod";
import { invalidRequest } from "../api/validation.ts";
import { AppError } from "../errors.ts";

/** A JSON body checked against `schema`; a malformed one is a 400 naming the field. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let value: unknown;
  try {
    value = await c.req.json();
  } catch {
    throw new AppError("invalid_request", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(parsed.error.issues, "json");
  return parsed.data;
}

export function query<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw invalidRequest(parsed.error.issues, "query");
  return parsed.data;
}
