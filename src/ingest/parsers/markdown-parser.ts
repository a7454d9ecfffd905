import { readUploadedText } from "./decode-text.ts";
import type { DocumentParser, HeadingSpan, ParsedDocument, ParseInput } from "./parser.ts";

interface Line {
  text: string;
  start: number;
  end: number;
}

interface MarkdownHeading extends HeadingSpan {
  content: string;
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
// Lines that open another block, so they cannot be the text of a setext heading.
const OTHER_BLOCK_START = /^ {0,3}(?:>|[-+*][ \t]|[-+*]$|\d{1,9}[.)](?:[ \t]|$)|<)/;

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline;
    lines.push({ text: text.slice(start, end), start, end });
    if (newline === -1) break;
    start = newline + 1;
  }
  return lines;
}

/** YAML front matter ("---" … "---" at the very top) is metadata, not a setext heading. */
function frontMatterLineCount(lines: readonly Line[]): number {
  if (lines[0]?.text.trimEnd() !== "---") return 0;
  const closing = lines.findIndex(
    (line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line.text),
  );
  return closing === -1 ? 0 : closing + 1;
}

/** Heading text for a title: inline markers and link targets dropped. */
function plainHeadingText(content: string): string {
  return content
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`+|\*+/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function atxContent(rest: string | undefined): string {
  // A closing run of #s is decoration, unless it is glued to the text ("C#").
  return (rest ?? "").replace(/(?:^|[ \t]+)#+[ \t]*$/, "").trim();
}

/** Finds ATX and setext headings outside fenced code blocks; each span covers the heading's source lines. */
export function findMarkdownHeadings(text: string): MarkdownHeading[] {
  const lines = splitLines(text);
  const headings: MarkdownHeading[] = [];
  let fence: { marker: string; length: number } | null = null;
  let paragraph: Line[] = [];
  for (const line of lines.slice(frontMatterLineCount(lines))) {
    if (fence) {
      const closing = new RegExp(
        `^ {0,3}${fence.marker === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`,
      );
      if (closing.test(line.text)) fence = null;
      continue;
    }
    const fenceOpen = FENCE_OPEN.exec(line.text);
    if (fenceOpen?.[1] && !(fenceOpen[1].startsWith("`") && fenceOpen[2]?.includes("`"))) {
      fence = { marker: fenceOpen[1].charAt(0), length: fenceOpen[1].length };
      paragraph = [];
      continue;
    }
    const atx = ATX_HEADING.exec(line.text);
    if (atx?.[1]) {
      const content = atxContent(atx[2]);
      if (content !== "")
        headings.push({ level: atx[1].length, charStart: line.start, charEnd: line.end, content });
      paragraph = [];
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(line.text);
    const first = paragraph[0];
    if (underline?.[1] && first) {
      const content = paragraph.map((paragraphLine) => paragraphLine.text.trim()).join(" ");
      headings.push({
        level: underline[1].startsWith("=") ? 1 : 2,
        charStart: first.start,
        charEnd: line.end,
        content,
      });
      paragraph = [];
      continue;
    }
    if (line.text.trim() === "" || THEMATIC_BREAK.test(line.text)) {
      paragraph = [];
      continue;
    }
    const opensOtherBlock =
      OTHER_BLOCK_START.test(line.text) || (paragraph.length === 0 && /^( {4}|\t)/.test(line.text));
    if (opensOtherBlock) paragraph = [];
    else paragraph.push(line);
  }
  return headings;
}

/** Markdown is indexed as its source text (LF line endings); headings and the first H1 give structure and title. */
export function parseMarkdown(input: ParseInput): ParsedDocument {
  const text = readUploadedText(input.bytes);
  const found = findMarkdownHeadings(text);
  const firstTopHeading = found.find((heading) => heading.level === 1);
  const title = firstTopHeading ? plainHeadingText(firstTopHeading.content) : null;
  return {
    text,
    pages: null,
    headings: found.map(({ level, charStart, charEnd }) => ({ level, charStart, charEnd })),
    title: title === "" ? null : title,
  };
}

/** The Markdown parser as a DocumentParser. */
export const markdownParser: DocumentParser = {
  mediaType: "text/markdown",
  parse: async (input) => parseMarkdown(input),
};
