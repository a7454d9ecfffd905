import mammoth from "mammoth";
import { AppError } from "../../errors.ts";
import { htmlToDocument } from "./html-parser.ts";
import type { DocumentParser, ParsedDocument, ParseInput } from "./parser.ts";

// Images would otherwise be inlined as base64 data URIs only to be thrown away.
const dropImages = mammoth.images.imgElement(async () => ({ src: "" }));

/** Converts a .docx to HTML with mammoth (Word heading styles become h1–h6), then reads it as HTML. */
export async function parseDocx(input: ParseInput): Promise<ParsedDocument> {
  const buffer = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer }, { convertImage: dropImages })).value;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new AppError(
      "unprocessable",
      `The file is not a readable Word document (${detail}); open it in Word or LibreOffice, save it as .docx again and upload it.`,
      { param: "file", cause: error },
    );
  }
  return htmlToDocument(html);
}

/** The DOCX parser as a DocumentParser. */
export const docxParser: DocumentParser = {
  mediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  parse: parseDocx,
};
