import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import { AppError, type ErrorType, toAppError } from "../errors.ts";

const STATUS_TYPES: Partial<Record<number, ErrorType>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "rate_limited",
};

/** Any thrown value as the one error envelope of the API; unexpected errors are logged, not shown. */
export function errorResponse(error: unknown, context: Context, logger: Logger): Response {
  let appError: AppError;
  if (error instanceof HTTPException) {
    const type = STATUS_TYPES[error.status] ?? "internal";
    appError = new AppError(type, messageFor(error), { cause: error });
  } else {
    appError = toAppError(error);
  }
  const requestId = context.get("requestId") as string | undefined;
  if (appError.type === "internal") {
    logger.error({ err: error, request_id: requestId }, "unhandled error");
  }
  if (appError.retryAfterSeconds !== undefined) {
    context.header("retry-after", String(Math.ceil(appError.retryAfterSeconds)));
  }
  return context.json(
    { error: { ...appError.toBody(), ...(requestId ? { request_id: requestId } : {}) } },
    appError.status as ContentfulStatusCode,
  );
}

function messageFor(error: HTTPException): string {
  if (error.status === 415) {
    return "Unsupported Content-Type: send application/json or multipart/form-data.";
  }
  if (error.status === 400 && /json/i.test(error.message)) {
    return "The request body is not valid JSON.";
  }
  return error.message || "The request could not be processed.";
}
