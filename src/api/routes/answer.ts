import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { toAppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import {
  AnswerEventStreamSchema,
  AnswerRequestSchema,
  AnswerResponseSchema,
} from "../answer-schemas.ts";
import { CollectionNameParam, errorResponses } from "../schemas.ts";
import { answerJson, searchResultJson } from "../serializers.ts";
import { validationHook } from "../validation.ts";

const answer = createRoute({
  method: "post",
  path: "/v1/collections/{name}/answer",
  tags: ["answer"],
  summary: "A grounded answer with verified citations (LLM or extractive; optionally streamed)",
  request: {
    params: CollectionNameParam,
    body: { required: true, content: { "application/json": { schema: AnswerRequestSchema } } },
  },
  responses: {
    200: {
      description: "The answer, or with `stream: true` a text/event-stream of its events",
      content: {
        "application/json": { schema: AnswerResponseSchema },
        "text/event-stream": { schema: AnswerEventStreamSchema },
      },
    },
    ...errorResponses(400, 401, 404, 502),
  },
});

/** The answer route. */
export function answerRoutes(services: Services) {
  return new OpenAPIHono({ defaultHook: validationHook }).openapi(answer, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    // One signal for "the client is gone", whichever way we hear of it first.
    const cancel = new AbortController();
    const onRequestAbort = (): void => cancel.abort();
    c.req.raw.signal.addEventListener("abort", onRequestAbort, { once: true });
    const request = {
      collection: name,
      question: body.question,
      k: body.k,
      filter: body.filter,
      stream: body.stream,
      previousResponseId: body.previous_response_id,
      model: body.model,
      reasoningEffort: body.reasoning_effort,
      verbosity: body.verbosity,
      signal: cancel.signal,
    };
    // Errors until the provider accepts the request are ordinary JSON errors with a status.
    const prepared = await services.answers.prepare(request);
    if (!body.stream) {
      try {
        return c.json(answerJson(await prepared.run()), 200);
      } finally {
        c.req.raw.signal.removeEventListener("abort", onRequestAbort);
      }
    }
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => cancel.abort());
      try {
        await stream.writeSSE({
          event: "sources",
          data: JSON.stringify(prepared.sources.map(searchResultJson)),
        });
        const result = await prepared.run(async (text) => {
          if (!cancel.signal.aborted) {
            await stream.writeSSE({ event: "delta", data: JSON.stringify({ text }) });
          }
        });
        await stream.writeSSE({ event: "done", data: JSON.stringify(answerJson(result)) });
      } catch (error) {
        if (cancel.signal.aborted) return;
        const appError = toAppError(error);
        if (appError.type === "internal") {
          services.logger.error({ err: error }, "answer stream failed");
        }
        const requestId = c.get("requestId") as string | undefined;
        await stream.writeSSE({
          event: "error",
          data: JSON.stringify({
            error: { ...appError.toBody(), ...(requestId ? { request_id: requestId } : {}) },
          }),
        });
      } finally {
        c.req.raw.signal.removeEventListener("abort", onRequestAbort);
      }
    });
  });
}
