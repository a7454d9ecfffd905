import OpenAI from "openai";
import { AppError } from "../errors.ts";

// Request fields a client may set, as the Responses API names them → as our API names them.
const CLIENT_PARAMS: Readonly<Record<string, string>> = {
  model: "model",
  previous_response_id: "previous_response_id",
  "reasoning.effort": "reasoning_effort",
  "text.verbosity": "verbosity",
};

/** Why an upstream call stopped on our side, when it did. */
export type LocalAbort = "client" | "idle" | null;

/**
 * A Responses API failure (after the SDK's retries) as the service's error: a rejected field
 * the client chose is the client's `invalid_request`; everything else is `upstream_error`.
 */
export function toAnswerError(
  error: unknown,
  context: { abort: LocalAbort; idleTimeoutMs: number },
): AppError {
  if (error instanceof AppError) return error;
  if (context.abort === "idle") return idleTimeout(context.idleTimeoutMs, error);
  if (context.abort === "client" || error instanceof OpenAI.APIUserAbortError) {
    return new AppError("upstream_error", "The answer was cancelled before it was complete.", {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError("upstream_error", "The answer provider did not reply in time.", {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new AppError("upstream_error", "The answer provider could not be reached.", {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIError) {
    const param = error.param ? CLIENT_PARAMS[error.param] : undefined;
    if ((error.status === 400 || error.status === 404) && param) {
      return new AppError(
        "invalid_request",
        `The answer provider rejected ${param}: ${error.message}`,
        {
          param,
          cause: error,
        },
      );
    }
    const retryAfter = Number(error.headers?.get?.("retry-after"));
    const where = error.status ? ` with status ${error.status}` : " mid-stream";
    return new AppError("upstream_error", `The answer provider failed${where}: ${error.message}`, {
      cause: error,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
  if (error instanceof SyntaxError || (error instanceof Error && error.name === "ZodError")) {
    return new AppError(
      "upstream_error",
      "The answer provider returned output that does not match the answer format.",
      { cause: error },
    );
  }
  return new AppError("upstream_error", "The answer provider failed unexpectedly.", {
    cause: error,
  });
}

/** The error for a stream that went quiet for too long after its headers. */
export function idleTimeout(idleTimeoutMs: number, cause?: unknown): AppError {
  return new AppError(
    "upstream_error",
    `The answer provider sent nothing for ${idleTimeoutMs / 1000} s; the answer was abandoned.`,
    { cause },
  );
}

/** A response that reports `status: "failed"` or a mid-stream error event. */
export function providerFailure(
  detail: { code?: string | null; message?: string } | null,
): AppError {
  const code = detail?.code ? ` (${detail.code})` : "";
  return new AppError(
    "upstream_error",
    `The answer provider failed${code}: ${detail?.message ?? "no reason given"}`,
  );
}
