import { Parser } from "htmlparser2";
import { readUploadedText } from "./decode-text.ts";
import type { DocumentParser, HeadingSpan, ParsedDocument, ParseInput } from "./parser.ts";

// <head> itself is not skipped: htmlparser2 does not close an unclosed <head> when the body
// starts, and everything a head holds besides <title> is void or in this list anyway.
const SKIPPED = new Set(["script", "style", "noscript", "template", "svg", "iframe", "object"]);
const PARAGRAPH_BLOCKS = new Set([
  ...[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "blockquote",
    "pre",
    "hr",
  ],
  ...["figure", "form", "fieldset", "address", "details", "section", "article", "header", "footer"],
  ...["main", "nav", "aside"],
]);
const LINE_BLOCKS = new Set([
  ...[
    "div",
    "li",
    "dt",
    "dd",
    "tr",
    "caption",
    "figcaption",
    "summary",
    "legend",
    "thead",
    "tbody",
    "tfoot",
  ],
  ...["body", "center", "option"],
]);
const HEADING_LEVEL: Readonly<Record<string, number>> = {
  h1: 1,
  h2: 2,
  h3: 3,
  h4: 4,
  h5: 5,
  h6: 6,
};

interface OpenList {
  ordered: boolean;
  next: number;
}

function countTrailingNewlines(piece: string): number {
  let count = 0;
  while (count < piece.length && piece.charCodeAt(piece.length - 1 - count) === 10) count += 1;
  return count;
}

/**
 * Accumulates readable text: collapses whitespace, turns blocks into line breaks, records
 * heading ranges. Output is kept as parts with its length and trailing newlines tracked, since
 * inspecting one growing string flattens it each time and makes big pages quadratic.
 */
class TextBuilder {
  readonly headings: HeadingSpan[] = [];
  readonly #parts: string[] = [];
  #length = 0;
  #trailingNewlines = 0;
  #pendingBreak = 0;
  #pendingSpace = false;
  #pendingCell = false;
  #pendingPrefix = "";
  #heading: { level: number; start: number | null; firstPart: number } | null = null;

  get text(): string {
    return this.#parts.join("");
  }

  requestBreak(lines: 1 | 2): void {
    this.#pendingBreak = Math.max(this.#pendingBreak, lines);
    this.#pendingCell = false;
  }

  requestCell(): void {
    if (this.#pendingBreak === 0) this.#pendingCell = true;
  }

  setPrefix(prefix: string): void {
    this.#pendingPrefix = prefix;
  }

  lineBreak(): void {
    if (this.#length === 0) return;
    this.#flushBreak();
    this.#append("\n");
    this.#pendingSpace = false;
    this.#pendingCell = false;
  }

  addText(raw: string, preformatted: boolean): void {
    if (preformatted) {
      if (raw === "") return;
      this.#flush();
      this.#append(raw.replace(/\r\n?/g, "\n"));
      return;
    }
    // \s covers U+00A0, so &nbsp; collapses like any space.
    const collapsed = raw.replace(/\s+/g, " ");
    if (collapsed === "") return;
    const words = collapsed.trim();
    if (collapsed.startsWith(" ")) this.#pendingSpace = true;
    if (words === "") return;
    this.#flush();
    this.#append(words);
    this.#pendingSpace = collapsed.endsWith(" ");
  }

  openHeading(level: number): void {
    this.requestBreak(2);
    this.#heading ??= { level, start: null, firstPart: 0 };
  }

  /** Ends the open heading and returns its text, or null when it had none. */
  closeHeading(): string | null {
    const heading = this.#heading;
    this.#heading = null;
    this.requestBreak(2);
    if (heading?.start == null) return null;
    this.headings.push({ level: heading.level, charStart: heading.start, charEnd: this.#length });
    return this.#parts.slice(heading.firstPart).join("");
  }

  #append(piece: string): void {
    if (piece === "") return;
    this.#parts.push(piece);
    this.#length += piece.length;
    const newlines = countTrailingNewlines(piece);
    this.#trailingNewlines =
      newlines === piece.length ? this.#trailingNewlines + newlines : newlines;
  }

  #flushBreak(): void {
    if (this.#pendingBreak > 0 && this.#length > 0) {
      this.#append("\n".repeat(Math.max(0, this.#pendingBreak - this.#trailingNewlines)));
    }
    this.#pendingBreak = 0;
  }

  #flush(): void {
    const hadBreak = this.#pendingBreak > 0;
    this.#flushBreak();
    if (!hadBreak && this.#length > 0 && this.#trailingNewlines === 0) {
      if (this.#pendingCell) this.#append("\t");
      else if (this.#pendingSpace) this.#append(" ");
    }
    this.#append(this.#pendingPrefix);
    this.#pendingPrefix = "";
    this.#pendingSpace = false;
    this.#pendingCell = false;
    if (this.#heading && this.#heading.start === null) {
      this.#heading.start = this.#length;
      this.#heading.firstPart = this.#parts.length;
    }
  }
}

/** Extracts readable text, heading spans and a title from an HTML document. */
export function htmlToDocument(html: string): ParsedDocument {
  const builder = new TextBuilder();
  const skipped: string[] = [];
  const lists: OpenList[] = [];
  let preDepth = 0;
  // Widened by hand: assigned inside parser callbacks, which control-flow analysis cannot see.
  let titleText = null as string | null;
  let inTitle = false;
  let firstTopHeading = null as string | null;

  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (SKIPPED.has(name)) skipped.push(name);
        if (skipped.length > 0) return;
        if (name === "title") inTitle = titleText === null;
        else if (name === "br") builder.lineBreak();
        else if (name === "pre") preDepth += 1;
        else if (name === "td" || name === "th") builder.requestCell();
        else if (name === "ul" || name === "ol") {
          const start = Number.parseInt(attributes.start ?? "1", 10);
          // A nested list continues its item's line block; only a top-level list is a paragraph.
          builder.requestBreak(lists.length > 0 ? 1 : 2);
          lists.push({ ordered: name === "ol", next: Number.isNaN(start) ? 1 : start });
          return;
        } else if (name === "li") {
          const list = lists.at(-1);
          const indent = "  ".repeat(Math.max(0, lists.length - 1));
          builder.requestBreak(1);
          builder.setPrefix(list?.ordered ? `${indent}${list.next++}. ` : `${indent}- `);
          return;
        }
        const level = HEADING_LEVEL[name];
        if (level !== undefined) builder.openHeading(level);
        else if (PARAGRAPH_BLOCKS.has(name)) builder.requestBreak(2);
        else if (LINE_BLOCKS.has(name)) builder.requestBreak(1);
      },
      ontext(text) {
        if (inTitle) titleText = (titleText ?? "") + text;
        else if (skipped.length === 0) builder.addText(text, preDepth > 0);
      },
      onclosetag(name) {
        if (skipped.length > 0) {
          if (skipped.at(-1) === name) skipped.pop();
          return;
        }
        if (name === "title") inTitle = false;
        else if (name === "pre") preDepth = Math.max(0, preDepth - 1);
        else if (name === "ul" || name === "ol") {
          lists.pop();
          builder.requestBreak(lists.length > 0 ? 1 : 2);
          return;
        }
        const level = HEADING_LEVEL[name];
        if (level !== undefined) {
          const headingText = builder.closeHeading();
          if (level === 1 && firstTopHeading === null && headingText) firstTopHeading = headingText;
        } else if (PARAGRAPH_BLOCKS.has(name)) builder.requestBreak(2);
        else if (LINE_BLOCKS.has(name)) builder.requestBreak(1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();

  const title =
    (titleText ?? "").replace(/\s+/g, " ").trim() ||
    firstTopHeading?.replace(/\s+/g, " ").trim() ||
    null;
  return { text: builder.text.trimEnd(), pages: null, headings: builder.headings, title };
}

/** HTML is indexed as its readable text: scripts and styles dropped, blocks on their own lines. */
export function parseHtml(input: ParseInput): ParsedDocument {
  return htmlToDocument(readUploadedText(input.bytes));
}

/** The HTML parser as a DocumentParser. */
export const htmlParser: DocumentParser = {
  mediaType: "text/html",
  parse: async (input) => parseHtml(input),
};
