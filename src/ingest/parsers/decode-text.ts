import { AppError } from "../../errors.ts";

// ignoreBOM: false makes the decoder drop a leading byte-order mark.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The bytes as UTF-8 text without a BOM, or null when they are not valid UTF-8 or contain NUL. */
export function decodeUtf8Text(bytes: Uint8Array): string | null {
  try {
    const text = utf8.decode(bytes);
    return text.includes("\u0000") ? null : text;
  } catch {
    return null;
  }
}

/** An uploaded text file as the indexed text: UTF-8 without BOM, line endings normalised to LF. */
export function readUploadedText(bytes: Uint8Array): string {
  const text = decodeUtf8Text(bytes);
  if (text === null) {
    throw new AppError(
      "unprocessable",
      "The file is not valid UTF-8 text; save it as UTF-8 and upload it again.",
      {
        param: "file",
      },
    );
  }
  return text.replace(/\r\n?/g, "\n");
}
