import { ERROR_STATUS } from "../errors.ts";
import { envelopeOf, GleanerError } from "./errors.ts";
import { parseEventStream } from "./sse.ts";
import type { AnswerEvent, AnswerResponse, AnswerSource } from "./types.ts";

/** Parses an answer's event stream; an `error` event ends it as a thrown GleanerError. */
export async function* answerEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<AnswerEvent> {
  for await (const { event, data } of parseEventStream(body)) {
    const parsed: unknown = JSON.parse(data);
    if (event === "error") {
      const envelope = envelopeOf(parsed) ?? {
        type: "internal",
        message: "The answer failed.",
        param: null,
      };
      const status = (ERROR_STATUS as Record<string, number>)[envelope.type] ?? 500;
      throw new GleanerError(envelope, status);
    }
    if (event === "sources") yield { event, data: parsed as AnswerSource[] };
    else if (event === "delta") yield { event, data: parsed as { text: string } };
    else if (event === "done") yield { event, data: parsed as AnswerResponse };
  }
}
