// Runs in a worker_threads Worker (see pdf-parser.ts): pdf.js is CPU-heavy and can hang or
// balloon on hostile files, so it never runs on the main thread.
import { parentPort } from "node:worker_threads";
import { FormatError, InvalidPDFException, PasswordException, PDFParse } from "pdf-parse";

/** One job from the main thread: the file and where pdf.js finds its CMaps and standard fonts. */
export interface PdfWorkerJob {
  bytes: Uint8Array;
  cMapUrl: string;
  standardFontDataUrl: string;
}

/** The answer to one job: raw per-page text, or why the file cannot be read. */
export type PdfWorkerResult =
  | { ok: true; pageTexts: string[]; title: string | null }
  | { ok: false; reason: "encrypted" | "truncated" | "invalid"; detail: string };

/** Every message the worker posts: "ready" once loaded, then one result per job. */
export type PdfWorkerMessage = { type: "ready" } | { type: "result"; result: PdfWorkerResult };

/**
 * A file whose last `%%EOF` is followed by object definitions (or that has none at all)
 * stops in the middle of a revision: pdf.js then silently falls back to an older revision
 * or a partial reconstruction, so the document would be indexed with pages missing.
 */
function looksTruncated(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lastEof = buffer.lastIndexOf("%%EOF");
  const rest = buffer.subarray(lastEof === -1 ? 0 : lastEof + "%%EOF".length);
  return /\d+\s+\d+\s+obj\b/.test(rest.toString("latin1"));
}

function titleFromInfo(info: unknown): string | null {
  if (typeof info !== "object" || info === null || !("Title" in info)) return null;
  const title = info.Title;
  if (typeof title !== "string") return null;
  const trimmed = title.trim();
  // Producers often store the source file name ("Binder1.pdf"), which is no title.
  if (trimmed === "" || /\.(pdf|docx?|rtf|odt|txt|tex|dvi|ps|indd)$/i.test(trimmed)) return null;
  return trimmed;
}

function describeFailure(error: unknown): PdfWorkerResult {
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof PasswordException) return { ok: false, reason: "encrypted", detail };
  if (error instanceof InvalidPDFException || error instanceof FormatError) {
    return { ok: false, reason: "invalid", detail };
  }
  return {
    ok: false,
    reason: "invalid",
    detail: `${error instanceof Error ? error.name : "Error"}: ${detail}`,
  };
}

async function extract(input: PdfWorkerJob): Promise<PdfWorkerResult> {
  if (looksTruncated(input.bytes)) {
    return { ok: false, reason: "truncated", detail: "objects follow the last end-of-file marker" };
  }
  let parser: PDFParse | undefined;
  try {
    parser = new PDFParse({
      data: input.bytes,
      cMapUrl: input.cMapUrl,
      cMapPacked: true,
      standardFontDataUrl: input.standardFontDataUrl,
      stopAtErrors: false,
    });
    const info = await parser.getInfo();
    const text = await parser.getText();
    const pageTexts = [...text.pages]
      .sort((left, right) => left.num - right.num)
      .map((page) => page.text);
    return { ok: true, pageTexts, title: titleFromInfo(info.info) };
  } catch (error) {
    return describeFailure(error);
  } finally {
    await parser?.destroy().catch(() => undefined);
  }
}

/** A one-page PDF without text, parsed once at start-up so pdf.js is fully loaded before "ready". */
function warmUpPdf(): Uint8Array {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets = objects.map((body, index) => {
    const offset = pdf.length;
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
    return `${String(offset).padStart(10, "0")} 00000 n \n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 4\n0000000000 65535 f \n${offsets.join("")}`;
  pdf += `trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(pdf);
}

const port = parentPort;
if (port) {
  // Loading pdf.js (and its in-thread "fake worker") is most of a cold start; doing it here
  // means a failure now is the server's problem, not blamed on the first user's file.
  const warmUp = new PDFParse({ data: warmUpPdf() });
  await warmUp.getText();
  await warmUp.destroy();

  // Jobs arrive one at a time: the pool sends the next only after this one's result.
  port.on("message", async (job: PdfWorkerJob) => {
    const message: PdfWorkerMessage = { type: "result", result: await extract(job) };
    port.postMessage(message);
  });
  const ready: PdfWorkerMessage = { type: "ready" };
  port.postMessage(ready);
}
