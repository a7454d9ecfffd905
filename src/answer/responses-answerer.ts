/*
 * Grounded answers from the OpenAI Responses API through the SDK. Non-streaming answers use
 * Structured Outputs (quotes come from the model); streamed answers are plain text whose [n]
 * markers the caller resolves afterwards. Every way a call can end — refusal, incomplete,
 * failed, an error event, silence, a client that left — ends in a result or an AppError.
 */
import type OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import type {
  Response,
  ResponseCreateParamsBase,
  ResponseStreamEvent,
  ResponseUsage,
} from "openai/resources/responses/responses";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { DraftCitation } from "./citations.ts";
import {
  buildInput,
  type PromptSource,
  STREAMING_INSTRUCTIONS,
  STRUCTURED_INSTRUCTIONS,
} from "./prompt.ts";
import { type LocalAbort, providerFailure, toAnswerError } from "./upstream-errors.ts";
import type { ModelTokens } from "./usage.ts";

export type ReasoningEffortOption = "minimal" | "low" | "medium" | "high";
export type VerbosityOption = "low" | "medium" | "high";

export interface LlmAnswerRequest {
  client: OpenAI;
  model: string;
  question: string;
  sources: readonly PromptSource[];
  previousResponseId?: string | undefined;
  reasoningEffort?: ReasoningEffortOption | undefined;
  verbosity?: VerbosityOption | undefined;
  /** Aborted when the client goes away: the upstream request is cancelled. */
  signal?: AbortSignal | undefined;
  /** Longest silence tolerated on an open stream (the SDK's timeout ends at the headers). */
  idleTimeoutMs: number;
}

export type AnswerStatus = "completed" | "refused" | "incomplete";

/** What the model produced, before citation checks. */
export interface LlmDraft {
  responseId: string;
  model: string;
  answer: string;
  /** Quotes from structured output; empty for streamed answers (resolved by the caller). */
  citations: DraftCitation[];
  insufficientContext: boolean;
  status: AnswerStatus;
  incompleteReason: string | null;
  tokens: ModelTokens;
}

/** The structured output a non-streaming answer must have. */
export const GroundedAnswerSchema = z.object({
  answer: z.string(),
  citations: z.array(z.object({ n: z.number().int(), quote: z.string() })),
  insufficient_context: z.boolean(),
});

function baseParams(request: LlmAnswerRequest, instructions: string): ResponseCreateParamsBase {
  return {
    model: request.model,
    instructions,
    input: buildInput(request.question, request.sources),
    // Stored so the returned id can be passed back as previous_response_id.
    store: true,
    ...(request.previousResponseId ? { previous_response_id: request.previousResponseId } : {}),
    ...(request.reasoningEffort ? { reasoning: { effort: request.reasoningEffort } } : {}),
  };
}

function tokensOf(usage: ResponseUsage | undefined | null): ModelTokens {
  return {
    inputTokens: usage?.input_tokens ?? 0,
    outputTokens: usage?.output_tokens ?? 0,
    reasoningTokens: usage?.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

function refusalOf(response: Response): string | null {
  for (const item of response.output) {
    if (item.type !== "message") continue;
    for (const part of item.content) if (part.type === "refusal") return part.refusal;
  }
  return null;
}

function outputTextOf(response: Response): string {
  const parts: string[] = [];
  for (const item of response.output) {
    if (item.type !== "message") continue;
    for (const part of item.content) if (part.type === "output_text") parts.push(part.text);
  }
  return parts.join("");
}

/** The `answer` string of a JSON object cut off mid-way, as far as it got. */
export function salvageAnswer(partialJson: string): string {
  const match = /^\s*\{\s*"answer"\s*:\s*"((?:[^"\\]|\\.)*)/s.exec(partialJson);
  if (!match) return "";
  const body = (match[1] as string).replace(/\\u[0-9a-fA-F]{0,3}$|\\$/, "");
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return "";
  }
}

/** Links the client's signal and an idle timer to one controller for the upstream request. */
function upstreamAbort(request: LlmAnswerRequest) {
  const controller = new AbortController();
  let reason: LocalAbort = null;
  let timer: NodeJS.Timeout | undefined;
  const onClientAbort = (): void => {
    reason ??= "client";
    controller.abort();
  };
  if (request.signal?.aborted) onClientAbort();
  request.signal?.addEventListener("abort", onClientAbort, { once: true });
  return {
    signal: controller.signal,
    reason: () => reason,
    /** (Re)starts the idle timer; each event received calls it. */
    touch(): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        reason ??= "idle";
        controller.abort();
      }, request.idleTimeoutMs);
    },
    dispose(): void {
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onClientAbort);
    },
  };
}

/** A non-streaming answer with Structured Outputs: the model quotes its sources itself. */
export async function structuredAnswer(request: LlmAnswerRequest): Promise<LlmDraft> {
  const abort = upstreamAbort(request);
  let response: Response & { output_parsed: z.infer<typeof GroundedAnswerSchema> | null };
  try {
    response = await request.client.responses.parse(
      {
        ...baseParams(request, STRUCTURED_INSTRUCTIONS),
        text: {
          format: zodTextFormat(GroundedAnswerSchema, "grounded_answer"),
          ...(request.verbosity ? { verbosity: request.verbosity } : {}),
        },
      },
      { signal: abort.signal },
    );
  } catch (error) {
    throw toAnswerError(error, { abort: abort.reason(), idleTimeoutMs: request.idleTimeoutMs });
  } finally {
    abort.dispose();
  }
  const common = {
    responseId: response.id,
    model: response.model,
    tokens: tokensOf(response.usage),
  };
  if (response.status === "failed") throw providerFailure(response.error);
  const refusal = refusalOf(response);
  if (refusal !== null) {
    return { ...common, ...refused(refusal) };
  }
  if (response.status === "incomplete") {
    return {
      ...common,
      answer: salvageAnswer(outputTextOf(response)),
      citations: [],
      insufficientContext: false,
      status: "incomplete",
      incompleteReason: response.incomplete_details?.reason ?? null,
    };
  }
  const parsed = response.output_parsed;
  if (!parsed) {
    throw new AppError("upstream_error", "The answer provider returned no answer.");
  }
  return {
    ...common,
    answer: parsed.answer,
    citations: parsed.insufficient_context ? [] : parsed.citations,
    insufficientContext: parsed.insufficient_context,
    status: "completed",
    incompleteReason: null,
  };
}

function refused(refusal: string) {
  return {
    answer: refusal,
    citations: [],
    insufficientContext: false,
    status: "refused" as const,
    incompleteReason: null,
  };
}

/** An answer stream whose HTTP exchange has started (request errors surfaced already). */
export interface OpenAnswerStream {
  /** Relays text deltas until the response ends; resolves with the whole draft. */
  relay(onDelta: (text: string) => void | Promise<void>): Promise<LlmDraft>;
}

/**
 * Starts a streamed answer. Resolves once the provider has accepted the request, so a bad
 * request or an unreachable provider is an error before any event is sent to the client.
 */
export async function openStreamingAnswer(request: LlmAnswerRequest): Promise<OpenAnswerStream> {
  const abort = upstreamAbort(request);
  const fail = (error: unknown): AppError =>
    toAnswerError(error, { abort: abort.reason(), idleTimeoutMs: request.idleTimeoutMs });
  let stream: AsyncIterable<ResponseStreamEvent>;
  try {
    stream = await request.client.responses.create(
      {
        ...baseParams(request, STREAMING_INSTRUCTIONS),
        ...(request.verbosity ? { text: { verbosity: request.verbosity } } : {}),
        stream: true,
      },
      { signal: abort.signal },
    );
  } catch (error) {
    abort.dispose();
    throw fail(error);
  }
  return {
    async relay(onDelta) {
      let text = "";
      let refusal: string | null = null;
      let final: Response | null = null;
      abort.touch();
      try {
        for await (const event of stream) {
          abort.touch();
          if (event.type === "response.output_text.delta") {
            text += event.delta;
            await onDelta(event.delta);
          } else if (event.type === "response.refusal.delta") {
            refusal = (refusal ?? "") + event.delta;
            await onDelta(event.delta);
          } else if (event.type === "response.completed" || event.type === "response.incomplete") {
            final = event.response;
          } else if (event.type === "response.failed") {
            throw providerFailure(event.response.error);
          } else if (event.type === "error") {
            throw providerFailure(event);
          }
        }
      } catch (error) {
        throw fail(error);
      } finally {
        abort.dispose();
      }
      // The SDK ends the iteration quietly when its request is aborted.
      if (abort.reason() !== null) throw fail(new Error("aborted"));
      if (!final) {
        throw new AppError(
          "upstream_error",
          "The answer stream ended before the answer was complete.",
        );
      }
      const common = {
        responseId: final.id,
        model: final.model,
        tokens: tokensOf(final.usage),
        citations: [],
        insufficientContext: false,
      };
      refusal ??= refusalOf(final);
      if (refusal !== null) return { ...common, ...refused(refusal) };
      return {
        ...common,
        answer: text || outputTextOf(final),
        status: final.status === "incomplete" ? "incomplete" : "completed",
        incompleteReason: final.incomplete_details?.reason ?? null,
      };
    },
  };
}
