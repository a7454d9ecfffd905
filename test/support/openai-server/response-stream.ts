import type { ServerResponse } from "node:http";
import { type JsonObject, sleep } from "./http.ts";
import { contentPart, messageItem } from "./response-objects.ts";
import type { ResponsePlan } from "./responses.ts";

/** Options for writing one streamed reply. */
export interface StreamOptions {
  /** Aborted when the client goes away (or the server closes): stop writing. */
  signal: AbortSignal;
  headers: Record<string, string>;
  /** Sees every event before it is written (conformance checks, recording). */
  onEvent?: (event: JsonObject) => void;
}

/**
 * Writes a plan as `text/event-stream`, in the order the API emits events: created,
 * in_progress, output items with their content part and deltas, then completed / incomplete /
 * failed, or an `error` event that ends the stream early.
 */
export async function writeResponseStream(
  response: ServerResponse,
  plan: ResponsePlan,
  options: StreamOptions,
): Promise<void> {
  const { signal } = options;
  let sequence = 0;
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...options.headers,
  });
  const emit = (event: JsonObject): void => {
    if (signal.aborted || response.writableEnded) return;
    const full: JsonObject = { ...event, sequence_number: sequence++ };
    options.onEvent?.(full);
    response.write(`event: ${String(full.type)}\ndata: ${JSON.stringify(full)}\n\n`);
  };

  emit({ type: "response.created", response: plan.initial });
  emit({ type: "response.in_progress", response: plan.initial });

  let outputIndex = 0;
  if (plan.reasoningItem) {
    emit({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...plan.reasoningItem, status: "in_progress" },
    });
    emit({
      type: "response.output_item.done",
      output_index: outputIndex,
      item: plan.reasoningItem,
    });
    outputIndex += 1;
  }

  const message = plan.message;
  if (message) {
    const ids = { item_id: message.id, output_index: outputIndex, content_index: 0 };
    const isText = message.kind === "text";
    emit({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...messageItem(message, "in_progress"), content: [] },
    });
    emit({ type: "response.content_part.added", ...ids, part: contentPart(message.kind, "") });
    for (const [index, delta] of plan.deltas.entries()) {
      if (plan.streamError && index >= plan.streamError.afterDeltas) break;
      if (index > 0 && plan.deltaDelayMs) await sleep(plan.deltaDelayMs, signal);
      if (signal.aborted) return;
      emit(
        isText
          ? { type: "response.output_text.delta", ...ids, delta, logprobs: [] }
          : { type: "response.refusal.delta", ...ids, delta },
      );
    }
    if (plan.streamError) {
      if (plan.deltaDelayMs) await sleep(plan.deltaDelayMs, signal);
      emitError(emit, plan.streamError);
      response.end();
      return;
    }
    emit(
      isText
        ? { type: "response.output_text.done", ...ids, text: message.content, logprobs: [] }
        : { type: "response.refusal.done", ...ids, refusal: message.content },
    );
    emit({
      type: "response.content_part.done",
      ...ids,
      part: contentPart(message.kind, message.content),
    });
    emit({
      type: "response.output_item.done",
      output_index: outputIndex,
      item: messageItem(message, message.status),
    });
  } else if (plan.streamError) {
    emitError(emit, plan.streamError);
    response.end();
    return;
  }

  const finalType =
    plan.final.status === "failed"
      ? "response.failed"
      : plan.final.status === "incomplete"
        ? "response.incomplete"
        : "response.completed";
  emit({ type: finalType, response: plan.final });
  response.end();
}

function emitError(
  emit: (event: JsonObject) => void,
  error: NonNullable<ResponsePlan["streamError"]>,
): void {
  if (error.shape === "spec") {
    emit({ type: "error", code: error.code, message: error.message, param: null });
    return;
  }
  emit({
    type: "error",
    error: { type: "server_error", code: error.code, message: error.message, param: null },
  });
}
