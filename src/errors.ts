/** The error types of the HTTP contract, each with its status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  unavailable: 503,
} as const;

export type ErrorType = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  type: ErrorType;
  message: string;
  param: string | null;
}

/** An error raised where it is understood, mapped to HTTP once at the boundary. */
export class AppError extends Error {
  readonly type: ErrorType;
  readonly param: string | null;
  /** Seconds a client should wait before retrying (rate limits, upstream back-off). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    type: ErrorType,
    message: string,
    options: { param?: string | null; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.type = type;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return ERROR_STATUS[this.type];
  }

  toBody(): ErrorBody {
    return { type: this.type, message: this.message, param: this.param };
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Any thrown value as an AppError; unknown failures become `internal`. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new AppError("internal", "An unexpected error occurred.", { cause: error });
}

export const notFound = (what: string, param: string | null = null): AppError =>
  new AppError("not_found", `${what} was not found.`, { param });
