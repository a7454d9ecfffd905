import assert from "node:assert/strict";
import { test } from "node:test";
import { assembleDocumentText, pagesWithin } from "../src/mcp/document-text.ts";
import type { ChunkRecord } from "../src/store/store.ts";

const SOURCE = "Alpha beta gamma.\n\nDelta epsilon zeta eta.\n\nTheta iota kappa.";

/** A chunk of SOURCE as the chunker makes them: text === SOURCE.slice(charStart, charEnd). */
function chunk(
  ordinal: number,
  charStart: number,
  charEnd: number,
  pages: [number, number] | null = null,
): ChunkRecord {
  return {
    chunkId: ordinal + 1,
    collection: "c",
    documentId: "d",
    title: null,
    metadata: {},
    ordinal,
    text: SOURCE.slice(charStart, charEnd),
    charStart,
    charEnd,
    pageStart: pages ? pages[0] : null,
    pageEnd: pages ? pages[1] : null,
    tokenCount: 1,
  };
}

test("overlapping chunks rebuild the source exactly; trimmed whitespace comes back as spaces", () => {
  const gap = SOURCE.indexOf("Delta");
  // first two overlap ("Delta epsilon" twice); a trimmed "\n\n" separates the second and third
  const chunks = [chunk(0, 0, 31), chunk(1, gap, 42), chunk(2, 44, SOURCE.length)];
  const { text, pages } = assembleDocumentText(chunks);
  assert.equal(text.length, SOURCE.length);
  assert.equal(text, `${SOURCE.slice(0, 42)}  ${SOURCE.slice(44)}`);
  for (const c of chunks) assert.equal(text.slice(c.charStart, c.charEnd), c.text);
  assert.deepEqual(pages, []);
});

test("chunks given out of order, and a leading gap, keep the offsets", () => {
  const { text } = assembleDocumentText([chunk(1, 19, 42), chunk(0, 2, 17)]);
  assert.equal(text, `  ${SOURCE.slice(2, 17)}  ${SOURCE.slice(19, 42)}`);
});

test("page spans run from the first chunk touching a page to the end of the last", () => {
  const chunks = [chunk(0, 0, 17, [1, 1]), chunk(1, 19, 42, [1, 2]), chunk(2, 44, 61, [3, 3])];
  const { pages } = assembleDocumentText(chunks);
  assert.deepEqual(pages, [
    { page: 1, char_start: 0, char_end: 42 },
    { page: 2, char_start: 19, char_end: 42 },
    { page: 3, char_start: 44, char_end: 61 },
  ]);
  assert.deepEqual(
    pagesWithin(pages, 42, 50).map((p) => p.page),
    [3],
  );
  assert.deepEqual(
    pagesWithin(pages, 20, 21).map((p) => p.page),
    [1, 2],
  );
  assert.deepEqual(assembleDocumentText([]), { text: "", pages: [] });
});
