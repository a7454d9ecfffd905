/*
 * Gleaner's answers as OpenAI Response objects: a file_search_call item, then an assistant
 * message whose output_text carries file_citation annotations. Gleaner's answers mark claims with
 * [n]; the text shown drops the markers and each becomes an annotation at the marker's place,
 * with Gleaner's extra detail (page range, character range of the verified quote, the quote).
 */
import type { AnswerResult } from "../answer/answer-service.ts";
import type { Citation } from "../answer/citations.ts";
import { newId } from "./files.ts";
import { attributesOf } from "./mappers.ts";
import type { CreateResponseBody } from "./schemas.ts";
import type { ScoredHit } from "./search.ts";

const MARKERS = /\s*\[(\d{1,4}(?:\s*[,;]\s*\d{1,4})*)\]/g;

export interface FileCitation {
  type: "file_citation";
  file_id: string;
  filename: string;
  index: number;
  // Gleaner's extra detail
  /** As the native API writes chunk ids: a string. */
  chunk_id: string;
  page_start: number | null;
  page_end: number | null;
  char_start: number;
  char_end: number;
  quote: string;
}

/** The answer without its [n] markers, and a citation annotation where each marker stood. */
export function annotate(
  answer: string,
  citations: readonly Citation[],
): { text: string; annotations: FileCitation[] } {
  const byNumber = new Map(citations.map((citation) => [citation.n, citation]));
  const annotations: FileCitation[] = [];
  let text = "";
  let last = 0;
  for (const match of answer.matchAll(MARKERS)) {
    text += answer.slice(last, match.index);
    last = match.index + match[0].length;
    for (const number of (match[1] as string).split(/[,;]/)) {
      const citation = byNumber.get(Number(number.trim()));
      if (citation) annotations.push(fileCitation(citation, text.length));
    }
  }
  text += answer.slice(last);
  return { text, annotations };
}

function fileCitation(citation: Citation, index: number): FileCitation {
  return {
    type: "file_citation",
    file_id: citation.documentId,
    filename: citation.title ?? citation.documentId,
    index,
    chunk_id: String(citation.chunkId),
    page_start: citation.pageStart,
    page_end: citation.pageEnd,
    char_start: citation.charStart,
    char_end: citation.charEnd,
    quote: citation.quote,
  };
}

/** The file_search_call item; results only when asked for with include. */
export function fileSearchCallItem(
  id: string,
  status: "in_progress" | "searching" | "completed",
  queries: string[],
  hits: readonly ScoredHit[] | null,
) {
  return {
    id,
    type: "file_search_call" as const,
    status,
    queries,
    results:
      hits === null
        ? null
        : hits.map(({ hit, fileId, score, vectorStoreId }) => ({
            file_id: fileId,
            filename: hit.title ?? fileId,
            score,
            text: hit.text,
            attributes: attributesOf(hit.metadata),
            // Gleaner's extra detail
            vector_store_id: vectorStoreId,
            chunk_id: String(hit.chunkId),
            page_start: hit.pageStart,
            page_end: hit.pageEnd,
            char_start: hit.charStart,
            char_end: hit.charEnd,
          })),
  };
}

export function messageItem(
  id: string,
  status: "in_progress" | "completed",
  content: { text: string; annotations: FileCitation[] }[],
) {
  return {
    id,
    type: "message" as const,
    role: "assistant" as const,
    status,
    content: content.map((part) => ({
      type: "output_text" as const,
      text: part.text,
      annotations: part.annotations,
      logprobs: [],
    })),
  };
}

export interface ResponseShell {
  id: string;
  createdAt: number;
  body: CreateResponseBody;
}

export function newResponseShell(body: CreateResponseBody): ResponseShell {
  return { id: newId("resp_"), createdAt: Math.floor(Date.now() / 1000), body };
}

/** A Response object: the request's settings echoed, with the given status and output. */
export function responseObject(
  shell: ResponseShell,
  status: "in_progress" | "completed" | "incomplete",
  output: unknown[],
  result: AnswerResult | null,
) {
  const { body } = shell;
  const text = output
    .flatMap((item) =>
      (item as { type: string }).type === "message"
        ? (item as ReturnType<typeof messageItem>).content.map((part) => part.text)
        : [],
    )
    .join("");
  return {
    id: shell.id,
    object: "response" as const,
    created_at: shell.createdAt,
    status,
    ...(status === "completed" ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" as const } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: result?.model ?? body.model,
    output,
    output_text: text,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    service_tier: "default" as const,
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: "text" as const }, verbosity: body.text?.verbosity ?? "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled" as const,
    ...(result
      ? {
          usage: {
            input_tokens: result.usage.inputTokens,
            input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
            output_tokens: result.usage.outputTokens,
            output_tokens_details: { reasoning_tokens: result.usage.reasoningTokens },
            total_tokens: result.usage.inputTokens + result.usage.outputTokens,
          },
        }
      : {}),
    metadata: body.metadata ?? {},
  };
}
