import { AppError } from "../../errors.ts";
import { detectMediaType } from "./detect-type.ts";
import { docxParser } from "./docx-parser.ts";
import { htmlParser } from "./html-parser.ts";
import { markdownParser } from "./markdown-parser.ts";
import type { DocumentParser, ParsedDocument, SupportedMediaType } from "./parser.ts";
import { parsePdf } from "./pdf-parser.ts";
import type { PdfWorkerPool } from "./pdf-worker-pool.ts";
import { textParser } from "./text-parser.ts";

export type {
  DocumentParser,
  HeadingSpan,
  PageSpan,
  ParsedDocument,
  SupportedMediaType,
} from "./parser.ts";
export { PdfWorkerPool, type PdfWorkerPoolOptions } from "./pdf-worker-pool.ts";

/** An upload to parse; the PDF options only apply when the bytes turn out to be a PDF. */
export interface ParseDocumentInput {
  bytes: Uint8Array;
  filename: string | null;
  declaredType: string | null;
  /** The format decided when the upload was accepted; detected from the bytes when absent. */
  mediaType?: SupportedMediaType;
  /** Time limit for a PDF (default 30 s). */
  pdfTimeoutMs?: number;
  /** Workers for PDFs; a shared default pool when omitted. */
  pdfPool?: PdfWorkerPool;
  signal?: AbortSignal;
}

const TEXT_PARSERS: Readonly<
  Record<Exclude<SupportedMediaType, "application/pdf">, DocumentParser>
> = {
  "text/plain": textParser,
  "text/markdown": markdownParser,
  "text/html": htmlParser,
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": docxParser,
};

/** Detects an upload's type from its bytes and parses it; throws AppError 415 or 422 for files it cannot index. */
export async function parseDocument(
  input: ParseDocumentInput,
): Promise<{ mediaType: SupportedMediaType; parsed: ParsedDocument }> {
  const mediaType = input.mediaType ?? (await detectMediaType(input));
  const parseInput = {
    bytes: input.bytes,
    filename: input.filename,
    ...(input.signal ? { signal: input.signal } : {}),
  };
  const parsed =
    mediaType === "application/pdf"
      ? await parsePdf(parseInput, {
          ...(input.pdfTimeoutMs !== undefined ? { timeoutMs: input.pdfTimeoutMs } : {}),
          ...(input.pdfPool ? { pool: input.pdfPool } : {}),
        })
      : await TEXT_PARSERS[mediaType].parse(parseInput);
  if (parsed.text.trim() === "") {
    throw new AppError(
      "unprocessable",
      "The document contains no text to index; upload a file with text in it.",
      {
        param: "file",
      },
    );
  }
  return { mediaType, parsed };
}
