import { fileTypeFromBuffer } from "file-type";
import { AppError } from "../../errors.ts";
import { decodeUtf8Text } from "./decode-text.ts";
import type { SupportedMediaType } from "./parser.ts";

/** An upload as received: the bytes decide, the name and declared type only break ties among text formats. */
export interface DetectInput {
  bytes: Uint8Array;
  filename: string | null;
  declaredType: string | null;
}

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const SUPPORTED_LIST = "PDF, Word (.docx), Markdown, HTML and plain text (UTF-8)";
const MARKDOWN_EXTENSIONS = new Set(["md", "markdown", "mdown", "mkd"]);
const HTML_EXTENSIONS = new Set(["html", "htm", "xhtml"]);

function extensionOf(filename: string | null): string | null {
  const match = filename ? /\.([A-Za-z0-9]+)$/.exec(filename) : null;
  return match?.[1]?.toLowerCase() ?? null;
}

/**
 * Readers accept a PDF header anywhere in the first KiB (mail gateways prepend junk), but a
 * text file that merely mentions "%PDF-" near its start must stay text.
 */
function hasPdfHeader(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024));
  const position = head.indexOf("%PDF-");
  return position === 0 || (position > 0 && decodeUtf8Text(bytes) === null);
}

function looksLikeHtml(text: string): boolean {
  const start = text
    .trimStart()
    .replace(/^<\?xml[^>]*>\s*/i, "")
    .replace(/^(<!--[\s\S]*?-->\s*)+/, "")
    .slice(0, 64)
    .toLowerCase();
  return start.startsWith("<!doctype html") || start.startsWith("<html");
}

function textMediaType(
  text: string,
  extension: string | null,
  declaredType: string | null,
): SupportedMediaType {
  if (extension && MARKDOWN_EXTENSIONS.has(extension)) return "text/markdown";
  if (extension && HTML_EXTENSIONS.has(extension)) return "text/html";
  const declared = declaredType?.split(";")[0]?.trim().toLowerCase();
  if (declared === "text/markdown" || declared === "text/x-markdown") return "text/markdown";
  if (declared === "text/html" || declared === "application/xhtml+xml" || looksLikeHtml(text))
    return "text/html";
  return "text/plain";
}

function unsupported(what: string, advice = "convert it to one of those"): AppError {
  return new AppError(
    "unsupported_media_type",
    `The file looks like ${what}, which cannot be indexed (supported: ${SUPPORTED_LIST}); ${advice} and upload it again.`,
    { param: "file" },
  );
}

async function sniff(bytes: Uint8Array): Promise<{ ext: string; mime: string } | undefined> {
  try {
    return await fileTypeFromBuffer(bytes);
  } catch {
    // A corrupt container (e.g. a cut-off zip) is simply not recognised.
    return undefined;
  }
}

/** Decides an upload's format from its bytes (magic numbers, UTF-8 validity) and name; never from the declared type alone. */
export async function detectMediaType(input: DetectInput): Promise<SupportedMediaType> {
  const { bytes } = input;
  if (bytes.byteLength === 0) {
    throw new AppError("unprocessable", "The file is empty; upload a file with content.", {
      param: "file",
    });
  }
  if (hasPdfHeader(bytes)) return "application/pdf";
  const detected = await sniff(bytes);
  const extension = extensionOf(input.filename);
  if (detected?.mime === DOCX) return DOCX;
  if (detected && detected.mime !== "application/xml" && decodeUtf8Text(bytes) === null) {
    if (detected.ext === "zip")
      throw unsupported("a ZIP archive that is not a Word document (application/zip)");
    if (detected.ext === "cfb") {
      throw unsupported(
        "a legacy Office file (.doc/.xls/.ppt, application/x-cfb)",
        "save it as .docx or PDF",
      );
    }
    throw unsupported(`a ${detected.ext.toUpperCase()} file (${detected.mime})`);
  }
  const text = decodeUtf8Text(bytes);
  if (text === null) {
    throw unsupported(
      "binary data or text that is not UTF-8",
      "if it is text, save it as UTF-8; otherwise convert it",
    );
  }
  const mediaType = textMediaType(text, extension, input.declaredType);
  // XML is only accepted as XHTML; other XML vocabularies are data, not documents.
  if (detected?.mime === "application/xml" && mediaType !== "text/html")
    throw unsupported("XML (application/xml)");
  return mediaType;
}
