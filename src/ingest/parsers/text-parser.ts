import { readUploadedText } from "./decode-text.ts";
import type { DocumentParser, ParsedDocument, ParseInput } from "./parser.ts";

/** Plain text is indexed exactly as uploaded, apart from CRLF/CR line endings becoming LF. */
export function parsePlainText(input: ParseInput): ParsedDocument {
  return { text: readUploadedText(input.bytes), pages: null, headings: [], title: null };
}

/** The plain-text parser as a DocumentParser. */
export const textParser: DocumentParser = {
  mediaType: "text/plain",
  parse: async (input) => parsePlainText(input),
};
