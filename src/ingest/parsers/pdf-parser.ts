import { AppError } from "../../errors.ts";
import type { DocumentParser, PageSpan, ParsedDocument, ParseInput } from "./parser.ts";
import type { PdfWorkerResult } from "./pdf-worker.ts";
import { PdfWorkerPool } from "./pdf-worker-pool.ts";

/** Where and how long one PDF may be parsed. */
export interface PdfParserOptions {
  /** Wall-clock limit for one document, counted from when a worker takes it. */
  timeoutMs?: number;
  /** The workers to parse in; a shared default pool when omitted. */
  pool?: PdfWorkerPool;
}

export const DEFAULT_PDF_TIMEOUT_MS = 30_000;
/** Below this many non-whitespace characters a PDF is treated as having no text layer. */
export const MIN_PDF_TEXT_CHARACTERS = 20;
const PAGE_SEPARATOR = "\n\n";

let defaultPool: PdfWorkerPool | undefined;

/** The pool used when a caller brings none; its idle workers never keep the process alive. */
export function defaultPdfWorkerPool(): PdfWorkerPool {
  defaultPool ??= new PdfWorkerPool();
  return defaultPool;
}

function unprocessable(message: string): AppError {
  return new AppError("unprocessable", message, { param: "file" });
}

function refusal(result: Extract<PdfWorkerResult, { ok: false }>): AppError {
  switch (result.reason) {
    case "encrypted":
      return unprocessable(
        "The PDF is encrypted with a password; remove the password protection and upload it again.",
      );
    case "truncated":
      return unprocessable(
        `The PDF is truncated (${result.detail}), as after an interrupted download; upload the complete file again.`,
      );
    case "invalid":
      return unprocessable(
        `The file is not a valid PDF (${result.detail}); repair or re-export it (e.g. print it to a new PDF) and upload it again.`,
      );
  }
}

function cleanPageText(raw: string): string {
  return (
    raw
      .replace(/\r\n?/g, "\n")
      // Fonts without a usable ToUnicode map come out as control codes, often one per space.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: those control codes are what is removed
      .replace(/ *[\u0000-\u0008\u000b-\u001f\u007f]+ */g, " ")
      .trim()
  );
}

/** Joins page texts with blank lines, recording each page's exact character range. */
export function assemblePages(pageTexts: readonly string[]): { text: string; pages: PageSpan[] } {
  const pages: PageSpan[] = [];
  let text = "";
  pageTexts.forEach((raw, index) => {
    if (index > 0) text += PAGE_SEPARATOR;
    const pageText = cleanPageText(raw);
    pages.push({
      number: index + 1,
      charStart: text.length,
      charEnd: text.length + pageText.length,
    });
    text += pageText;
  });
  return { text, pages };
}

/** Parses a PDF off the main thread, page by page, refusing encrypted, broken and text-less files. */
export async function parsePdf(
  input: ParseInput,
  options: PdfParserOptions = {},
): Promise<ParsedDocument> {
  const pool = options.pool ?? defaultPdfWorkerPool();
  const result = await pool.run({
    bytes: input.bytes,
    timeoutMs: options.timeoutMs ?? DEFAULT_PDF_TIMEOUT_MS,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  if (!result.ok) throw refusal(result);
  const { text, pages } = assemblePages(result.pageTexts);
  if (text.replace(/\s/g, "").length < MIN_PDF_TEXT_CHARACTERS) {
    throw unprocessable(
      "The PDF has no extractable text (it looks scanned, with no text layer); run OCR on it first and upload the result.",
    );
  }
  return { text, pages, headings: [], title: result.title };
}

/** The PDF parser as a DocumentParser with fixed options. */
export function createPdfParser(options: PdfParserOptions = {}): DocumentParser {
  return { mediaType: "application/pdf", parse: (input) => parsePdf(input, options) };
}
