/** A page of a paginated source, as a character range of the extracted text. */
export interface PageSpan {
  /** 1-based page number. */
  number: number;
  charStart: number;
  charEnd: number;
}

/** A heading in the extracted text: a preferred place to start a chunk. */
export interface HeadingSpan {
  level: number;
  charStart: number;
  charEnd: number;
}

/** What every parser returns: plain text plus the structure the chunker and citations need. */
export interface ParsedDocument {
  text: string;
  /** Pages in order, covering the text; null for formats without pages. */
  pages: PageSpan[] | null;
  headings: HeadingSpan[];
  /** A title found in the document itself (PDF info, HTML <title>, first Markdown H1). */
  title: string | null;
}

export const SUPPORTED_MEDIA_TYPES = [
  "application/pdf",
  "text/plain",
  "text/markdown",
  "text/html",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
] as const;

export type SupportedMediaType = (typeof SUPPORTED_MEDIA_TYPES)[number];

/** True for a media type Gleaner has a parser for (e.g. one recorded when the upload was accepted). */
export function isSupportedMediaType(value: string): value is SupportedMediaType {
  return (SUPPORTED_MEDIA_TYPES as readonly string[]).includes(value);
}

export interface ParseInput {
  bytes: Uint8Array;
  filename: string | null;
  signal?: AbortSignal;
}

/** One format's parser. Throws AppError("unprocessable") for files it cannot read. */
export interface DocumentParser {
  readonly mediaType: SupportedMediaType;
  parse(input: ParseInput): Promise<ParsedDocument>;
}
