import { isRecord, type Json, type JsonObject } from "./http.ts";

/** The assistant message a reply carries. */
export interface PlannedMessage {
  id: string;
  kind: "text" | "refusal";
  content: string;
  status: string;
}

/** An output message item holding text or a refusal. */
export function messageItem(
  message: PlannedMessage,
  status: string,
  content: string = message.content,
): JsonObject {
  return {
    id: message.id,
    type: "message",
    status,
    role: "assistant",
    content: [contentPart(message.kind, content)],
  };
}

/** An output_text or refusal content part. */
export function contentPart(kind: "text" | "refusal", content: string): JsonObject {
  return kind === "refusal"
    ? { type: "refusal", refusal: content }
    : { type: "output_text", text: content, annotations: [], logprobs: [] };
}

/** The request-derived fields every Response snapshot carries (spec-required ones included). */
export function baseResponse(
  body: JsonObject,
  id: string,
  createdAt: number,
  model: string,
): JsonObject {
  const pick = (key: string, fallback: Json): Json => body[key] ?? fallback;
  const reasoning = isRecord(body.reasoning) ? body.reasoning : {};
  const text = isRecord(body.text) ? body.text : {};
  return {
    id,
    object: "response",
    created_at: createdAt,
    background: pick("background", false),
    instructions: pick("instructions", null),
    max_output_tokens: pick("max_output_tokens", null),
    max_tool_calls: pick("max_tool_calls", null),
    model,
    parallel_tool_calls: pick("parallel_tool_calls", true),
    previous_response_id: pick("previous_response_id", null),
    prompt_cache_key: pick("prompt_cache_key", null),
    reasoning: {
      effort: reasoning.effort ?? null,
      summary: reasoning.summary ?? null,
    },
    safety_identifier: pick("safety_identifier", null),
    service_tier: "default",
    store: pick("store", true),
    temperature: pick("temperature", 1),
    text: {
      format: text.format ?? { type: "text" },
      verbosity: text.verbosity ?? "medium",
    },
    tool_choice: pick("tool_choice", "auto"),
    tools: pick("tools", []),
    top_logprobs: pick("top_logprobs", 0),
    top_p: pick("top_p", 1),
    truncation: pick("truncation", "disabled"),
    metadata: pick("metadata", {}),
  };
}
