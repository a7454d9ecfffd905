/** One server-sent event: its name (`message` when unnamed) and its data lines joined. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` body into events as the WHATWG spec frames them: a blank line
 * ends an event, `data:` lines join with "\n", comments and unknown fields are ignored, and an
 * event cut off by the end of the stream is dropped.
 */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (let taken = takeLine(buffer, done); taken; taken = takeLine(buffer, done)) {
        buffer = taken.rest;
        const line = taken.line;
        if (line === "") {
          if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The first complete line of the buffer; a final "\r" waits for the next chunk (it may be "\r\n"). */
function takeLine(buffer: string, atEnd: boolean): { line: string; rest: string } | null {
  const index = buffer.search(/[\r\n]/);
  if (index === -1) return null;
  if (buffer[index] === "\n")
    return { line: buffer.slice(0, index), rest: buffer.slice(index + 1) };
  if (index + 1 === buffer.length && !atEnd) return null;
  const length = buffer[index + 1] === "\n" ? 2 : 1;
  return { line: buffer.slice(0, index), rest: buffer.slice(index + length) };
}
