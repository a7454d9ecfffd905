import type { PageSpan } from "./parsers/parser.ts";

/** The 1-based page a character offset falls on (the last page whose start is at or before it). */
export function pageAt(pages: PageSpan[], offset: number): number {
  let low = 0;
  let high = pages.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((pages[middle] as PageSpan).charStart <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return (pages[found] as PageSpan).number;
}

/** The first and last page a character range [start, end) touches; nulls when unpaginated. */
export function pageRange(
  pages: PageSpan[] | null,
  charStart: number,
  charEnd: number,
): { pageStart: number | null; pageEnd: number | null } {
  if (!pages || pages.length === 0) return { pageStart: null, pageEnd: null };
  return {
    pageStart: pageAt(pages, charStart),
    pageEnd: pageAt(pages, Math.max(charStart, charEnd - 1)),
  };
}
