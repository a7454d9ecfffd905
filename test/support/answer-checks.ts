import assert from "node:assert/strict";

const squash = (text: string): string => text.replace(/\s+/g, " ").trim();

/**
 * The contract every answer must keep: each [n] has exactly one citation, its chunk is among
 * the sources, its quote is verbatim (whitespace-normalised) in that chunk, and — when the
 * document text is known — char_start/char_end locate the quote in it.
 */
export function assertCitationContract(
  answer: any,
  documentTexts: ReadonlyMap<string, string> = new Map(),
): void {
  const markers = [...String(answer.answer).matchAll(/\[(\d+)\]/g)].map((match) =>
    Number(match[1]),
  );
  const numbers = answer.citations.map((citation: any) => citation.n);
  assert.equal(new Set(numbers).size, numbers.length, "one citation per number");
  for (const n of markers) {
    assert.equal(numbers.filter((m: number) => m === n).length, 1, `[${n}] has one citation`);
  }
  for (const citation of answer.citations) {
    assert.ok(markers.includes(citation.n), `citation ${citation.n} is marked in the answer`);
    const source = answer.sources.find((hit: any) => hit.chunk_id === citation.chunk_id);
    assert.ok(source, `citation ${citation.n}'s chunk is among the sources`);
    assert.equal(citation.document_id, source.document_id);
    assert.equal(citation.title, source.title);
    assert.equal(citation.page_start, source.page_start);
    assert.ok(squash(source.text).includes(squash(citation.quote)), "quote is in the chunk");
    assert.ok(citation.char_start >= source.char_start && citation.char_end <= source.char_end);
    const text = documentTexts.get(citation.document_id);
    if (text !== undefined) {
      assert.equal(
        squash(text.slice(citation.char_start, citation.char_end)),
        squash(citation.quote),
      );
    }
  }
}

/** Parses a text/event-stream body into its events (name + parsed JSON data). */
export function parseEvents(body: string): { event: string; data: any }[] {
  return body
    .split(/\n\n+/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      return { event, data: JSON.parse(data.join("\n")) };
    });
}

/** POSTs an answer request with `stream: true` and returns status, content type and events. */
export async function streamAnswer(
  server: { url: string },
  collection: string,
  body: Record<string, unknown>,
): Promise<{ status: number; contentType: string; events: { event: string; data: any }[] }> {
  const response = await fetch(`${server.url}/v1/collections/${collection}/answer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    contentType,
    events: contentType.includes("event-stream") ? parseEvents(text) : [],
  };
}
