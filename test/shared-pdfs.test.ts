import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AppError } from "../src/errors.ts";
import { MIN_PDF_TEXT_CHARACTERS, parsePdf } from "../src/ingest/parsers/pdf-parser.ts";
import { PdfWorkerPool } from "../src/ingest/parsers/pdf-worker-pool.ts";

// The shared set lives beside the repository: /work/shared/pdfs next to /work/main.
const directory = new URL("../../shared/pdfs/", import.meta.url);
const manifestUrl = new URL("manifest.tsv", directory);
const available = existsSync(fileURLToPath(manifestUrl));

interface ManifestRow {
  file: string;
  kind: string;
  notes: string;
}

type Expectation = "parsed" | "encrypted" | "no-text" | "truncated" | "parsed-or-refused";

function readManifest(): ManifestRow[] {
  const [, ...lines] = readFileSync(manifestUrl, "utf8").trim().split("\n");
  return lines.map((line) => {
    const [file = "", , , , kind = "", notes = ""] = line.split("\t");
    return { file, kind, notes };
  });
}

/** What the manifest's verified notes make unambiguous; everything else may go either way. */
function expectationFor(row: ManifestRow): Expectation {
  const extractable = /text extractable: (yes|minimal|no)/.exec(row.notes)?.[1];
  const characters = Number(/\((\d+) non-space chars/.exec(row.notes)?.[1] ?? Number.NaN);
  if (row.notes.startsWith("TRUNCATED")) return "truncated";
  if (row.kind === "malformed") return "parsed-or-refused";
  if (row.kind === "encrypted" && /without password: pdfinfo fails/.test(row.notes))
    return "encrypted";
  if (extractable === "no" || (extractable === "minimal" && characters < MIN_PDF_TEXT_CHARACTERS))
    return "no-text";
  if (extractable === "yes") return "parsed";
  return "parsed-or-refused";
}

const REFUSAL_PATTERN: Readonly<
  Record<Exclude<Expectation, "parsed" | "parsed-or-refused">, RegExp>
> = {
  encrypted: /encrypted with a password/,
  "no-text": /no extractable text.*OCR/,
  truncated: /truncated/,
};

describe("shared real-world PDFs", {
  skip: available ? false : `no shared PDF set at ${fileURLToPath(directory)}`,
}, () => {
  const pool = new PdfWorkerPool({ size: 1 });
  after(() => pool.close());
  const outcomes: string[] = [];
  after(() => {
    console.log(["file | kind | expected | outcome | ms", ...outcomes].join("\n"));
  });

  for (const row of available ? readManifest() : []) {
    const expectation = expectationFor(row);
    const pages = Number(/pages=(\d+)/.exec(row.notes)?.[1]);
    test(`${row.file} (${row.kind}) → ${expectation}`, { timeout: 60_000 }, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(row.file, directory)));
      const started = performance.now();
      let outcome: string;
      try {
        const document = await parsePdf({ bytes, filename: row.file }, { pool });
        outcome = `parsed ${document.pages?.length} pages, ${document.text.length} chars`;
        outcomes.push(
          `${row.file} | ${row.kind} | ${expectation} | ${outcome} | ${Math.round(performance.now() - started)}`,
        );
        assert.ok(
          expectation === "parsed" || expectation === "parsed-or-refused",
          `expected ${expectation}, got ${outcome}`,
        );
        if (expectation === "parsed") assert.equal(document.pages?.length, pages);
        for (const page of document.pages ?? []) {
          assert.ok(page.charStart <= page.charEnd && page.charEnd <= document.text.length);
        }
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(error instanceof AppError, `expected AppError, got ${String(error)}`);
        assert.equal(error.type, "unprocessable");
        assert.equal(error.status, 422);
        outcome = `422 ${error.message}`;
        outcomes.push(
          `${row.file} | ${row.kind} | ${expectation} | ${outcome} | ${Math.round(performance.now() - started)}`,
        );
        if (expectation === "parsed") assert.fail(`expected the file to parse, got ${outcome}`);
        if (expectation !== "parsed-or-refused") {
          assert.match(error.message, REFUSAL_PATTERN[expectation]);
        }
      }
    });
  }
});
