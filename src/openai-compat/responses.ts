/*
 * POST /openai/v1/responses with the file_search tool. Gleaner runs the search itself (filters
 * inside retrieval), then answers from the retrieved chunks: through the configured upstream
 * Responses API when an OpenAI key is set, extractively otherwise. Either way the reply is an
 * OpenAI Response, streamed with OpenAI's event types when `stream` is true.
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { AnswerResult } from "../answer/answer-service.ts";
import { AppError, toAppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { newId } from "./files.ts";
import { jsonBody } from "./request.ts";
import {
  annotate,
  fileSearchCallItem,
  messageItem,
  newResponseShell,
  type ResponseShell,
  responseObject,
} from "./response-objects.ts";
import { type CreateResponseBody, CreateResponseSchema, FileSearchToolSchema } from "./schemas.ts";
import { type ScoredHit, searchVectorStores } from "./search.ts";
import type { VectorStores } from "./vector-stores.ts";

const DEFAULT_MAX_RESULTS = 10;
const RESULTS_INCLUDE = "file_search_call.results";

/** What a request asks Gleaner to do: the question and the one file_search tool. */
function plan(body: CreateResponseBody) {
  const tools = body.tools ?? [];
  const fileSearch = tools.filter((tool) => tool.type === "file_search");
  const other = tools.find((tool) => tool.type !== "file_search");
  if (other) {
    throw new AppError(
      "invalid_request",
      `tools: Gleaner runs only the file_search tool, not "${other.type}".`,
      { param: "tools" },
    );
  }
  if (fileSearch.length !== 1) {
    throw new AppError(
      "invalid_request",
      "tools: give exactly one file_search tool with the vector_store_ids to search.",
      { param: "tools" },
    );
  }
  const parsed = FileSearchToolSchema.safeParse(fileSearch[0]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      "invalid_request",
      `tools[0].${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid file_search tool"}`,
      { param: "tools" },
    );
  }
  return {
    question: questionOf(body.input),
    tool: parsed.data,
    withResults: (body.include ?? []).includes(RESULTS_INCLUDE),
  };
}

/** The question: the input string, or the text of the latest user message. */
function questionOf(input: CreateResponseBody["input"]): string {
  if (typeof input === "string") return input;
  for (let index = input.length - 1; index >= 0; index--) {
    const message = input[index];
    if (message?.role !== "user") continue;
    const text =
      typeof message.content === "string"
        ? message.content
        : message.content
            .filter((part) => part.type === "input_text" && typeof part.text === "string")
            .map((part) => part.text)
            .join("\n");
    if (text.trim()) return text.trim();
  }
  throw new AppError("invalid_request", "input: no user message with text to answer.", {
    param: "input",
  });
}

/** The responses route. */
export function responseRoutes(services: Services, vectorStores: VectorStores) {
  const app = new Hono();
  app.post("/responses", async (c) => {
    const body = await jsonBody(c, CreateResponseSchema);
    const { question, tool, withResults } = plan(body);
    // unknown or expired stores are ordinary errors, before any stream starts
    const first = await vectorStores.settings(tool.vector_store_ids[0] as string);
    for (const id of tool.vector_store_ids.slice(1)) await vectorStores.settings(id);
    const collection = await services.store.getCollection(first.id);
    if (!collection) throw new AppError("not_found", `No vector store with id "${first.id}".`);
    const cancel = new AbortController();
    const onAbort = (): void => cancel.abort();
    c.req.raw.signal.addEventListener("abort", onAbort, { once: true });
    const search = () =>
      searchVectorStores(
        { search: services.search, vectorStores },
        {
          vectorStoreIds: tool.vector_store_ids,
          queries: [question],
          maxResults: tool.max_num_results ?? DEFAULT_MAX_RESULTS,
          filter: tool.filters ?? undefined,
          scoreThreshold: tool.ranking_options?.score_threshold,
        },
      );
    const prepare = (hits: ScoredHit[], embeddingTokens: number, stream: boolean) =>
      services.answers.prepareFromSources(
        {
          question,
          stream,
          model: services.answers.mode === "llm" ? body.model : undefined,
          previousResponseId: body.previous_response_id ?? undefined,
          reasoningEffort: body.reasoning?.effort ?? undefined,
          verbosity: body.text?.verbosity ?? undefined,
          signal: cancel.signal,
        },
        hits.map((scored) => scored.hit),
        { embedding: collection.embedding, embeddingTokens },
      );
    const shell = newResponseShell(body);
    const callId = newId("fs_");
    const messageId = newId("msg_");
    if (!body.stream) {
      try {
        const found = await search();
        const result = await (await prepare(found.hits, found.embeddingTokens, false)).run();
        const output = [
          fileSearchCallItem(callId, "completed", [question], withResults ? found.hits : null),
          messageItem(messageId, "completed", [annotate(result.answer, result.citations)]),
        ];
        return c.json(responseObject(shell, statusOf(result), output, result), 200);
      } finally {
        c.req.raw.signal.removeEventListener("abort", onAbort);
      }
    }
    return streamResponse(c, {
      shell,
      callId,
      messageId,
      question,
      withResults,
      cancel,
      onDone: () => c.req.raw.signal.removeEventListener("abort", onAbort),
      search,
      prepare,
      logger: services.logger,
    });
  });
  return app;
}

function statusOf(result: AnswerResult): "completed" | "incomplete" {
  return result.status === "incomplete" ? "incomplete" : "completed";
}

/** The stream of OpenAI response events for one file_search answer. */
function streamResponse(
  c: Context,
  input: {
    shell: ResponseShell;
    callId: string;
    messageId: string;
    question: string;
    withResults: boolean;
    cancel: AbortController;
    onDone: () => void;
    search: () => Promise<{ hits: ScoredHit[]; embeddingTokens: number }>;
    prepare: (
      hits: ScoredHit[],
      embeddingTokens: number,
      stream: boolean,
    ) => Promise<{ run(onDelta?: (text: string) => void | Promise<void>): Promise<AnswerResult> }>;
    logger: Services["logger"];
  },
) {
  const { shell, callId, messageId, question, cancel } = input;
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => cancel.abort());
    let sequence = 0;
    const emit = async (event: Record<string, unknown> & { type: string }): Promise<void> => {
      if (cancel.signal.aborted) return;
      await stream.writeSSE({
        event: event.type,
        data: JSON.stringify({ ...event, sequence_number: sequence++ }),
      });
    };
    try {
      const initial = responseObject(shell, "in_progress", [], null);
      await emit({ type: "response.created", response: initial });
      await emit({ type: "response.in_progress", response: initial });
      const call = { output_index: 0, item_id: callId };
      await emit({
        type: "response.output_item.added",
        output_index: 0,
        item: fileSearchCallItem(callId, "in_progress", [question], null),
      });
      await emit({ type: "response.file_search_call.in_progress", ...call });
      await emit({ type: "response.file_search_call.searching", ...call });
      const found = await input.search();
      await emit({ type: "response.file_search_call.completed", ...call });
      const searchItem = fileSearchCallItem(
        callId,
        "completed",
        [question],
        input.withResults ? found.hits : null,
      );
      await emit({ type: "response.output_item.done", output_index: 0, item: searchItem });

      const prepared = await input.prepare(found.hits, found.embeddingTokens, true);
      const text = { item_id: messageId, output_index: 1, content_index: 0 };
      await emit({
        type: "response.output_item.added",
        output_index: 1,
        item: messageItem(messageId, "in_progress", []),
      });
      await emit({
        type: "response.content_part.added",
        ...text,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
      const stripper = new MarkerStripper();
      const result = await prepared.run(async (delta) => {
        const clean = stripper.push(delta);
        if (clean)
          await emit({ type: "response.output_text.delta", ...text, delta: clean, logprobs: [] });
      });
      const final = annotate(result.answer, result.citations);
      // verification may drop markers the stream already passed: the done events carry the truth
      const rest = final.text.startsWith(stripper.emitted)
        ? final.text.slice(stripper.emitted.length)
        : "";
      if (rest)
        await emit({ type: "response.output_text.delta", ...text, delta: rest, logprobs: [] });
      for (const [index, annotation] of final.annotations.entries()) {
        await emit({
          type: "response.output_text.annotation.added",
          ...text,
          annotation_index: index,
          annotation,
        });
      }
      await emit({ type: "response.output_text.done", ...text, text: final.text, logprobs: [] });
      const message = messageItem(messageId, "completed", [final]);
      await emit({ type: "response.content_part.done", ...text, part: message.content[0] });
      await emit({ type: "response.output_item.done", output_index: 1, item: message });
      const completed = responseObject(shell, statusOf(result), [searchItem, message], result);
      await emit({
        type: completed.status === "completed" ? "response.completed" : "response.incomplete",
        response: completed,
      });
    } catch (error) {
      if (cancel.signal.aborted) return;
      const appError = toAppError(error);
      if (appError.type === "internal")
        input.logger.error({ err: error }, "response stream failed");
      await emit({
        type: "error",
        code: appError.type,
        message: appError.message,
        param: appError.param,
      });
    } finally {
      input.onDone();
    }
  });
}

/**
 * Removes [n] markers from streamed text as it arrives, holding back a tail that could still
 * become one (an open bracket, or whitespace that may precede a marker).
 */
export class MarkerStripper {
  private raw = "";
  emitted = "";

  push(delta: string): string {
    this.raw += delta;
    let cut = this.raw.length;
    const open = this.raw.lastIndexOf("[");
    if (open >= 0 && !this.raw.includes("]", open)) cut = open;
    while (cut > 0 && /\s/.test(this.raw[cut - 1] as string)) cut--;
    const clean = this.raw.slice(0, cut).replace(/\s*\[\d{1,4}(?:\s*[,;]\s*\d{1,4})*\]/g, "");
    if (!clean.startsWith(this.emitted) || clean.length <= this.emitted.length) return "";
    const fresh = clean.slice(this.emitted.length);
    this.emitted = clean;
    return fresh;
  }
}
