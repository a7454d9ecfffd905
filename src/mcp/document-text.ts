import type { ChunkRecord } from "../store/store.ts";

/** The character range of a document's text that lies on one page (approximately: see below). */
export interface PageSpan {
  page: number;
  char_start: number;
  char_end: number;
}

export interface DocumentText {
  text: string;
  pages: PageSpan[];
}

/**
 * A document's extracted text rebuilt from its chunks. The store keeps chunks, not the whole
 * text; each chunk is `text.slice(charStart, charEnd)` of the original and consecutive chunks
 * overlap or are separated only by the whitespace the chunker trimmed. So the rebuilt text has
 * the same offsets as search results' `char_start`/`char_end`, with trimmed whitespace between
 * chunks coming back as spaces.
 *
 * Pages: chunks know the first and last page they touch, not where a page breaks inside them,
 * so a page's span runs from the first chunk touching it to the end of the last one; spans of
 * neighbouring pages may overlap by up to a chunk.
 */
export function assembleDocumentText(chunks: readonly ChunkRecord[]): DocumentText {
  const ordered = [...chunks].sort((a, b) => a.charStart - b.charStart || a.charEnd - b.charEnd);
  const parts: string[] = [];
  let covered = 0;
  const pages = new Map<number, PageSpan>();
  for (const chunk of ordered) {
    if (chunk.charStart > covered) {
      parts.push(" ".repeat(chunk.charStart - covered));
      covered = chunk.charStart;
    }
    if (chunk.charEnd > covered) {
      parts.push(chunk.text.slice(covered - chunk.charStart));
      covered = chunk.charEnd;
    }
    if (chunk.pageStart === null) continue;
    for (let page = chunk.pageStart; page <= (chunk.pageEnd ?? chunk.pageStart); page++) {
      const span = pages.get(page);
      if (span) span.char_end = Math.max(span.char_end, chunk.charEnd);
      else pages.set(page, { page, char_start: chunk.charStart, char_end: chunk.charEnd });
    }
  }
  return { text: parts.join(""), pages: [...pages.values()].sort((a, b) => a.page - b.page) };
}

/** The pages whose spans overlap [start, end). */
export function pagesWithin(pages: readonly PageSpan[], start: number, end: number): PageSpan[] {
  return pages.filter((span) => span.char_start < end && span.char_end > start);
}
