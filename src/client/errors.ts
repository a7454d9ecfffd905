import type { ErrorType } from "../errors.ts";

/** The body of the API's error envelope: `{"error": {...}}`. */
export interface ErrorEnvelope {
  type: ErrorType | string;
  message: string;
  param: string | null;
  request_id?: string;
}

/** An error reply of the Gleaner API, typed from its envelope. */
export class GleanerError extends Error {
  readonly type: string;
  readonly param: string | null;
  readonly status: number;
  readonly requestId: string | undefined;

  constructor(envelope: ErrorEnvelope, status: number) {
    super(envelope.message);
    this.name = "GleanerError";
    this.type = envelope.type;
    this.param = envelope.param ?? null;
    this.status = status;
    this.requestId = envelope.request_id;
  }
}

/** Reads an error envelope from a failed response; a body that is not one still becomes a GleanerError. */
export async function errorFromResponse(response: {
  status: number;
  statusText: string;
  text(): Promise<string>;
}): Promise<GleanerError> {
  const text = await response.text().catch(() => "");
  const envelope = envelopeOf(safeJson(text));
  if (envelope) return new GleanerError(envelope, response.status);
  return new GleanerError(
    {
      type: "http_error",
      message: `HTTP ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`,
      param: null,
    },
    response.status,
  );
}

/** The envelope inside a parsed JSON value, if it is one. */
export function envelopeOf(value: unknown): ErrorEnvelope | null {
  const inner = isRecord(value) && isRecord(value.error) ? value.error : value;
  if (!isRecord(inner) || typeof inner.type !== "string" || typeof inner.message !== "string") {
    return null;
  }
  return {
    type: inner.type,
    message: inner.message,
    param: typeof inner.param === "string" ? inner.param : null,
    ...(typeof inner.request_id === "string" ? { request_id: inner.request_id } : {}),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
