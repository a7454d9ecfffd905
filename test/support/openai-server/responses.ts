import {
  ApiError,
  isRecord,
  type Json,
  type JsonObject,
  missingParameter,
  newId,
  unixNow,
} from "./http.ts";
import { exampleFromSchema } from "./json-example.ts";
import { baseResponse, messageItem, type PlannedMessage } from "./response-objects.ts";
import { countTokens, decodeTokens, encodeTokens } from "./tokens.ts";

/** Options every responder result may carry. */
export interface ResponderExtras {
  /** Reasoning tokens to bill (adds a `reasoning` output item when > 0). */
  reasoningTokens?: number;
  /** Pause between streamed deltas, overriding the server's `deltaDelayMs`. */
  deltaDelayMs?: number;
}

/** What the fake model "says" for one /v1/responses request. */
export type ResponderResult =
  | ({ text: string } & ResponderExtras)
  | ({ refusal: string } & ResponderExtras)
  | ({ incomplete: "max_output_tokens" | "content_filter"; text?: string } & ResponderExtras)
  | ({
      /** Streams this many deltas, then an `error` event, then ends (non-streaming: a 500). */
      streamErrorAfterDeltas: number;
      text?: string;
      error?: { code?: string | null; message?: string };
      /** `"spec"`: ResponseErrorEvent as the spec has it (flat); `"production"`: nested `error`, as the live API sends. */
      errorShape?: StreamErrorShape;
    } & ResponderExtras)
  | ({ failed: { code: string; message: string } } & ResponderExtras);

/** Where the fields of a mid-stream `error` event sit. */
export type StreamErrorShape = "spec" | "production";

/** A validated CreateResponse request, with the parts responders usually want. */
export interface ResponderRequest {
  body: JsonObject;
  model: string;
  instructions: string | null;
  /** All input text (strings, input_text parts, prior assistant text), joined by newlines. */
  inputText: string;
  /** Text of the last user message (or the string input). */
  lastUserText: string;
  /** Stored responses reached through `previous_response_id`, oldest first. */
  history: StoredResponse[];
  /** `text.format.schema` when the request asks for `json_schema` output. */
  jsonSchema: JsonObject | null;
}

/** Per-test behaviour of /v1/responses. */
export type Responder = (request: ResponderRequest) => ResponderResult | Promise<ResponderResult>;

/** A response kept for `previous_response_id` and GET /v1/responses/{id}. */
export interface StoredResponse {
  response: JsonObject;
  inputText: string;
  outputText: string;
  inputTokens: number;
  outputTokens: number;
}

/** The default responder: deterministic, echo-ish text, or an example of the requested JSON schema. */
export const defaultResponder: Responder = (request) => ({ text: defaultText(request) });

function defaultText(request: ResponderRequest): string {
  if (request.jsonSchema) return JSON.stringify(exampleFromSchema(request.jsonSchema));
  const said = request.lastUserText.replace(/\s+/g, " ").trim().slice(0, 200);
  const turn = request.history.length > 0 ? ` (turn ${request.history.length + 1})` : "";
  return `This is a deterministic test reply${turn} to: ${said}`;
}

/** Everything needed to reply to one request, as a JSON object or as a stream of events. */
export interface ResponsePlan {
  /** The in-progress snapshot (no output, no usage) for `response.created`/`in_progress`. */
  initial: JsonObject;
  /** The final object (status completed / incomplete / failed). */
  final: JsonObject;
  reasoningItem: JsonObject | null;
  message: PlannedMessage | null;
  deltas: string[];
  streamError: {
    afterDeltas: number;
    code: string | null;
    message: string;
    shape: StreamErrorShape;
  } | null;
  deltaDelayMs: number | undefined;
  stored: StoredResponse;
}

/** Text of `input`/`instructions`: strings, text parts and tool outputs, in order. */
export function collectText(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(collectText);
  if (!isRecord(value)) return [];
  if (typeof value.text === "string") return [value.text];
  if (typeof value.refusal === "string") return [value.refusal];
  if (typeof value.output === "string") return [value.output];
  return collectText(value.content);
}

function lastUserText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  for (let index = input.length - 1; index >= 0; index--) {
    const item: unknown = input[index];
    if (isRecord(item) && (item.role === "user" || item.role === undefined)) {
      return collectText(item).join("\n");
    }
  }
  return collectText(input).join("\n");
}

/** Follows `previous_response_id` through the store; unknown ids get OpenAI's 400. */
export function resolveHistory(
  body: JsonObject,
  store: ReadonlyMap<string, StoredResponse>,
): StoredResponse[] {
  const history: StoredResponse[] = [];
  let id = body.previous_response_id;
  while (typeof id === "string" && history.length < 100) {
    const stored = store.get(id);
    if (!stored) {
      if (history.length > 0) break;
      throw new ApiError(400, `Previous response with id '${id}' not found.`, {
        param: "previous_response_id",
        code: "previous_response_not_found",
      });
    }
    history.unshift(stored);
    id = stored.response.previous_response_id;
  }
  return history;
}

/** Builds the request view a responder sees. Throws ApiError for a missing model. */
export function toResponderRequest(body: JsonObject, history: StoredResponse[]): ResponderRequest {
  if (typeof body.model !== "string" && body.prompt === undefined) {
    // The spec leaves `model` optional (a stored prompt may name it); OpenAI still requires one.
    throw missingParameter("model");
  }
  const text = isRecord(body.text) ? body.text : {};
  const format = isRecord(text.format) ? text.format : {};
  return {
    body,
    model: typeof body.model === "string" ? body.model : "gpt-5-mini",
    instructions: typeof body.instructions === "string" ? body.instructions : null,
    inputText: collectText(body.input).join("\n"),
    lastUserText: lastUserText(body.input),
    history,
    jsonSchema: format.type === "json_schema" && isRecord(format.schema) ? format.schema : null,
  };
}

function truncateToTokens(text: string, maxTokens: number): string {
  return decodeTokens(encodeTokens(text).slice(0, Math.max(0, maxTokens)));
}

/** Splits text into word-sized deltas, as the API streams it. */
export function splitDeltas(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text]);
}

/** Turns a responder's result into the objects and events of one reply. */
export function planResponse(
  request: ResponderRequest,
  result: ResponderResult,
  defaults: { reasoningTokens: number; deltaDelayMs: number; streamErrorShape: StreamErrorShape },
): ResponsePlan {
  const { body } = request;
  const reasoningTokens = result.reasoningTokens ?? defaults.reasoningTokens;
  let status = "completed";
  let incompleteReason: string | null = null;
  let error: { code: string; message: string } | null = null;
  let streamError: ResponsePlan["streamError"] = null;
  let kind: "text" | "refusal" = "text";
  let content = "";

  if ("failed" in result) {
    status = "failed";
    error = { code: result.failed.code, message: result.failed.message };
  } else if ("streamErrorAfterDeltas" in result) {
    content = result.text ?? defaultText(request);
    streamError = {
      afterDeltas: result.streamErrorAfterDeltas,
      code: result.error?.code === undefined ? "server_error" : result.error.code,
      message: result.error?.message ?? "The server had an error while processing your request.",
      shape: result.errorShape ?? defaults.streamErrorShape,
    };
  } else if ("incomplete" in result) {
    status = "incomplete";
    incompleteReason = result.incomplete;
    content = result.text ?? "";
  } else if ("refusal" in result) {
    kind = "refusal";
    content = result.refusal;
  } else {
    content = result.text;
  }

  // A reply longer than max_output_tokens is cut there, as the API does.
  const maxOutput = typeof body.max_output_tokens === "number" ? body.max_output_tokens : null;
  if (maxOutput !== null && status === "completed" && !streamError) {
    const room = maxOutput - reasoningTokens;
    if (countTokens(content) > room) {
      content = truncateToTokens(content, room);
      status = "incomplete";
      incompleteReason = "max_output_tokens";
    }
  }

  const inputTokens = countInputTokens(request);
  const outputTokens = countTokens(content) + reasoningTokens;
  const id = newId("resp_");
  const createdAt = unixNow();
  const base = baseResponse(body, id, createdAt, request.model);
  const reasoningItem: JsonObject | null =
    reasoningTokens > 0 && status !== "failed"
      ? { id: newId("rs_"), type: "reasoning", summary: [] }
      : null;
  const hasMessage = status !== "failed" && (content !== "" || status === "completed");
  const message = hasMessage
    ? {
        id: newId("msg_"),
        kind,
        content,
        status: status === "incomplete" ? "incomplete" : "completed",
      }
    : null;
  const output: Json[] = [];
  if (reasoningItem) output.push(reasoningItem);
  if (message) output.push(messageItem(message, message.status));

  const final: JsonObject = {
    ...base,
    status,
    completed_at: status === "completed" ? unixNow() : null,
    error,
    incomplete_details: incompleteReason ? { reason: incompleteReason } : null,
    output,
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: reasoningTokens },
      total_tokens: inputTokens + outputTokens,
    },
  };
  return {
    initial: {
      ...base,
      status: "in_progress",
      completed_at: null,
      error: null,
      incomplete_details: null,
      output: [],
    },
    final,
    reasoningItem,
    message,
    deltas: splitDeltas(content),
    streamError,
    deltaDelayMs: result.deltaDelayMs ?? (defaults.deltaDelayMs || undefined),
    stored: {
      response: final,
      // Like the API, a later turn inherits input and output but not `instructions`.
      inputText: request.inputText,
      outputText: content,
      inputTokens,
      outputTokens,
    },
  };
}

/** Input tokens: instructions and input, plus the conversation reached by previous_response_id. */
function countInputTokens(request: ResponderRequest): number {
  const own = countTokens(request.instructions ?? "") + countTokens(request.inputText);
  return request.history.reduce(
    (sum, turn) => sum + countTokens(turn.inputText) + countTokens(turn.outputText),
    own,
  );
}
