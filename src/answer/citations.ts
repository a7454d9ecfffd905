/*
 * Citation checks shared by both answer modes. A generator proposes `[n]` markers and quotes;
 * only what can be verified against the retrieved chunks survives, renumbered 1..m in order of
 * first appearance, with the answer's markers rewritten to match.
 */

/** What a generator claims: marker `[n]` stands for `quote`, found in source `source ?? n`. */
export interface DraftCitation {
  n: number;
  quote: string;
  /** 1-based position in `sources`; defaults to `n` (a model cites sources by their number). */
  source?: number;
}

/** The parts of a retrieved chunk a citation needs. */
export interface CitationSource {
  chunkId: number;
  documentId: string;
  title: string | null;
  pageStart: number | null;
  pageEnd: number | null;
  text: string;
  /** Where the chunk's text starts in the document's extracted text. */
  charStart: number;
}

/** A verified citation: the quote is in the chunk, at [charStart, charEnd) of the document text. */
export interface Citation {
  n: number;
  chunkId: number;
  documentId: string;
  title: string | null;
  pageStart: number | null;
  pageEnd: number | null;
  quote: string;
  charStart: number;
  charEnd: number;
}

export interface VerifiedAnswer {
  answer: string;
  citations: Citation[];
  /** Draft citations or markers that could not be verified and were removed. */
  dropped: number;
}

const MIN_QUOTE_CHARS = 2;
// `[3]`, `[1, 2]`, `[1][2]` all name sources; lists are split into single markers on rewrite.
const MARKER = /\[(\d{1,4}(?:\s*[,;]\s*\d{1,4})*)\]/g;
const OUTER_QUOTES = /^["'“”‘’«»]+|["'“”‘’«»]+$/g;

interface Normalized {
  text: string;
  /** rawIndex[i] is the raw position of normalised character i; one extra entry for the end. */
  rawIndex: number[];
}

/** Whitespace runs as one space, ends trimmed, with a map back to raw positions. */
function normalizeWhitespace(raw: string): Normalized {
  let text = "";
  const rawIndex: number[] = [];
  let pendingSpace = -1;
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index] as string;
    if (/\s/.test(char)) {
      if (pendingSpace < 0 && text.length > 0) pendingSpace = index;
      continue;
    }
    if (pendingSpace >= 0) {
      text += " ";
      rawIndex.push(pendingSpace);
      pendingSpace = -1;
    }
    text += char;
    rawIndex.push(index);
  }
  return { text, rawIndex };
}

/** Where `quote` occurs in `text` (whitespace-normalised), as raw [start, end); null if absent. */
export function locateQuote(quote: string, text: string): { start: number; end: number } | null {
  const haystack = normalizeWhitespace(text);
  const candidates = [quote, quote.replace(OUTER_QUOTES, "")];
  for (const candidate of candidates) {
    const needle = normalizeWhitespace(candidate).text;
    if (needle.length < MIN_QUOTE_CHARS) continue;
    const at = haystack.text.indexOf(needle);
    if (at < 0) continue;
    const last = haystack.rawIndex[at + needle.length - 1] as number;
    return { start: haystack.rawIndex[at] as number, end: last + 1 };
  }
  return null;
}

/** The source numbers a marker's inner text lists. */
function markerNumbers(inner: string): number[] {
  return inner.split(/[,;]/).map((part) => Number(part.trim()));
}

/**
 * Keeps the citations whose quote is verbatim in their source chunk and whose marker appears in
 * the answer (one per source number, first verified wins), renumbers them by first appearance
 * and rewrites the markers; markers without a verified citation are removed.
 */
export function verifyCitations(
  answer: string,
  drafts: readonly DraftCitation[],
  sources: readonly CitationSource[],
): VerifiedAnswer {
  let dropped = 0;
  const verified = new Map<number, Omit<Citation, "n">>();
  for (const draft of drafts) {
    const position = draft.source ?? draft.n;
    const source = Number.isInteger(position) ? sources[position - 1] : undefined;
    const found = source ? locateQuote(draft.quote, source.text) : null;
    if (!source || !found) {
      dropped++;
      continue;
    }
    if (verified.has(draft.n)) {
      dropped++;
      continue;
    }
    verified.set(draft.n, {
      chunkId: source.chunkId,
      documentId: source.documentId,
      title: source.title,
      pageStart: source.pageStart,
      pageEnd: source.pageEnd,
      quote: source.text.slice(found.start, found.end),
      charStart: source.charStart + found.start,
      charEnd: source.charStart + found.end,
    });
  }

  const renumbered = new Map<number, number>();
  const rewritten = answer.replace(
    new RegExp(`\\s*${MARKER.source}`, "g"),
    (whole: string, inner: string) => {
      const kept: number[] = [];
      for (const n of markerNumbers(inner)) {
        if (!verified.has(n)) {
          dropped++;
          continue;
        }
        let next = renumbered.get(n);
        if (next === undefined) {
          next = renumbered.size + 1;
          renumbered.set(n, next);
        }
        if (!kept.includes(next)) kept.push(next);
      }
      if (kept.length === 0) return "";
      const leading = whole.slice(0, whole.length - whole.trimStart().length);
      return `${leading}${kept.map((n) => `[${n}]`).join("")}`;
    },
  );

  const citations: Citation[] = [];
  for (const [original, citation] of verified) {
    const n = renumbered.get(original);
    if (n === undefined) {
      dropped++;
      continue;
    }
    citations.push({ n, ...citation });
  }
  citations.sort((a, b) => a.n - b.n);
  return { answer: rewritten.trim(), citations, dropped };
}

/** Every `[n]` the answer marks, in order (lists expanded). */
export function markersIn(answer: string): number[] {
  return [...answer.matchAll(MARKER)].flatMap((match) => markerNumbers(match[1] as string));
}
