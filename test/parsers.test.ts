import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { PDFDocument } from "pdf-lib";
import { AppError } from "../src/errors.ts";
import { detectMediaType } from "../src/ingest/parsers/detect-type.ts";
import { parseDocx } from "../src/ingest/parsers/docx-parser.ts";
import { htmlToDocument } from "../src/ingest/parsers/html-parser.ts";
import { parseDocument } from "../src/ingest/parsers/index.ts";
import { findMarkdownHeadings, parseMarkdown } from "../src/ingest/parsers/markdown-parser.ts";
import type { ParsedDocument } from "../src/ingest/parsers/parser.ts";
import { assemblePages, parsePdf } from "../src/ingest/parsers/pdf-parser.ts";
import { PdfWorkerPool } from "../src/ingest/parsers/pdf-worker-pool.ts";
import { parsePlainText } from "../src/ingest/parsers/text-parser.ts";
import { makePdf } from "./support/pdf-fixtures.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const encode = (text: string) => new TextEncoder().encode(text);
const pool = new PdfWorkerPool({ size: 2 });
after(() => pool.close());

/** A hand-written one-page PDF with one text line per operator: cheap to build, costly to extract. */
function manyLinesPdf(lines: number): Uint8Array {
  const operators = ["BT /F1 2 Tf 10 780 Td"];
  for (let index = 0; index < lines; index++) operators.push(`(w${index}) Tj 0 -0.001 Td`);
  operators.push("ET");
  const content = operators.join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets = objects.map((body, index) => {
    const offset = pdf.length;
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
    return `${String(offset).padStart(10, "0")} 00000 n \n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.join("")}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return encode(pdf);
}

/** A ZIP with stored (uncompressed) entries: enough for mammoth and file-type. */
function makeZip(entries: Record<string, string>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name, "utf8");
    const data = Buffer.from(content, "utf8");
    const checksum = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

function makeDocx(paragraphs: { style?: string; text: string }[]): Uint8Array {
  const body = paragraphs
    .map(({ style, text }) => {
      const properties = style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : "";
      return `<w:p>${properties}<w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;
    })
    .join("");
  const w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  return makeZip({
    "[Content_Types].xml":
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
      '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>' +
      "</Types>",
    "_rels/.rels":
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
      "</Relationships>",
    "word/_rels/document.xml.rels":
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
      "</Relationships>",
    "word/styles.xml":
      `<?xml version="1.0" encoding="UTF-8"?><w:styles ${w}>` +
      '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>' +
      '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style>' +
      "</w:styles>",
    "word/document.xml": `<?xml version="1.0" encoding="UTF-8"?><w:document ${w}><w:body>${body}</w:body></w:document>`,
  });
}

async function assertRefused(
  promise: Promise<unknown>,
  type: AppError["type"],
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected AppError, got ${String(error)}`);
    assert.equal(error.type, type);
    assert.match(error.message, pattern);
    return true;
  });
}

function headingTexts(document: ParsedDocument): string[] {
  return document.headings.map((heading) =>
    document.text.slice(heading.charStart, heading.charEnd),
  );
}

describe("detectMediaType", () => {
  const detect = (
    bytes: Uint8Array,
    filename: string | null = null,
    declaredType: string | null = null,
  ) => detectMediaType({ bytes, filename, declaredType });

  test("PDF bytes are a PDF whatever the name and declared type say", async () => {
    const pdf = await makePdf([["hello"]]);
    assert.equal(await detect(pdf, "notes.txt", "text/plain"), "application/pdf");
  });

  test("a PDF behind leading junk is a PDF; text that mentions %PDF- stays text", async () => {
    const pdf = await makePdf([["hello"]]);
    const prefixed = new Uint8Array([...encode("X-Junk: 1\r\n"), ...pdf]);
    assert.equal(await detect(prefixed, "mail.pdf"), "application/pdf");
    assert.equal(
      await detect(encode("PDF files start with `%PDF-1.7`.\n"), "pdf.md"),
      "text/markdown",
    );
  });

  test("a PNG is refused with 415 naming what it is, even when declared as text", async () => {
    const png = new Uint8Array([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
      ...new Array(64).fill(0),
    ]);
    await assertRefused(
      detect(png, "photo.txt", "text/plain"),
      "unsupported_media_type",
      /PNG.*image\/png.*supported/,
    );
  });

  test("UTF-8 text is text even where a sniffer sees a video signature at byte 4", async () => {
    // file-type reads "free", "wide", "mdat", "moov", "skip" and "ftyp" at offset 4 as QuickTime/MP4
    for (const text of [
      "The free market",
      "Two widely used criteria",
      "Tiny mdat",
      "Somemoov",
      "We skip the rest.",
      "Theftypist",
    ]) {
      assert.equal(await detect(encode(text), "note.txt"), "text/plain", text);
      assert.equal(await detect(encode(text), null, null), "text/plain", text);
    }
  });

  test("JSON text is declared text: never sniffed, not even for a PDF header", async () => {
    const detectText = (text: string) =>
      detectMediaType({
        bytes: encode(text),
        filename: null,
        declaredType: "text/plain",
        isText: true,
      });
    assert.equal(await detectText("%PDF-1.7 starts a PDF file"), "text/plain");
    assert.equal(await detectText("The free market"), "text/plain");
    await assertRefused(detectText("a\u0000b"), "invalid_request", /NUL/);
  });

  test("binary garbage and non-UTF-8 text are refused with 415", async () => {
    const garbage = new Uint8Array(256).map((_, index) => (index * 37 + 11) % 256);
    await assertRefused(detect(garbage, "data.bin"), "unsupported_media_type", /binary data/);
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]);
    await assertRefused(detect(latin1, "menu.txt"), "unsupported_media_type", /UTF-8/);
    await assertRefused(
      detect(encode("text\u0000with NUL"), "a.txt"),
      "unsupported_media_type",
      /binary/,
    );
  });

  test("a ZIP that is not a Word document is refused; a DOCX is recognised by content", async () => {
    await assertRefused(
      detect(makeZip({ "a.txt": "hi" }), "a.docx", DOCX),
      "unsupported_media_type",
      /ZIP/,
    );
    assert.equal(await detect(makeDocx([{ text: "hi" }]), "upload.bin", null), DOCX);
  });

  test("text formats: extension first, then declared type, then HTML sniffing", async () => {
    assert.equal(await detect(encode("# Title"), "readme.md"), "text/markdown");
    assert.equal(await detect(encode("# Title"), "README.markdown"), "text/markdown");
    assert.equal(
      await detect(encode("# Title"), null, "text/markdown; charset=utf-8"),
      "text/markdown",
    );
    assert.equal(await detect(encode("<p>x</p>"), "page.htm"), "text/html");
    assert.equal(
      await detect(encode("\uFEFF  <!DOCTYPE html><html></html>"), "page.txt"),
      "text/html",
    );
    assert.equal(await detect(encode("<HTML><body>x</body></HTML>"), null), "text/html");
    assert.equal(await detect(encode("plain words"), "notes.txt", "text/html"), "text/html");
    assert.equal(await detect(encode("plain words"), "notes.txt", "application/pdf"), "text/plain");
    assert.equal(await detect(encode("no name at all"), null, null), "text/plain");
  });

  test("an empty file is refused", async () => {
    await assertRefused(detect(new Uint8Array(0), "empty.txt"), "unprocessable", /empty/);
  });
});

describe("plain text", () => {
  test("normalises CRLF and strips a BOM, nothing else", () => {
    const document = parsePlainText({
      bytes: encode("\uFEFFline one\r\nline  two\r\n\ttabbed\n"),
      filename: null,
    });
    assert.equal(document.text, "line one\nline  two\n\ttabbed\n");
    assert.deepEqual(document, { text: document.text, pages: null, headings: [], title: null });
  });
});

describe("markdown", () => {
  const source = [
    "---",
    "title: Front matter",
    "---",
    "# Getting *Started* #",
    "",
    "Intro paragraph.",
    "",
    "```bash",
    "# not a heading",
    "```",
    "~~~~",
    "## still code",
    "~~~~",
    "## Install ##",
    "#hashtag is not a heading",
    "   ### Indented three",
    "    # four spaces is code",
    "Setext title",
    "============",
    "",
    "Second level",
    "---",
    "",
    "- item",
    "---",
    "# C#",
  ].join("\n");

  test("keeps the source text and reports ATX/setext headings with exact ranges, skipping code", () => {
    const document = parseMarkdown({
      bytes: encode(source.replace(/\n/g, "\r\n")),
      filename: "a.md",
    });
    assert.equal(document.text, source);
    assert.deepEqual(headingTexts(document), [
      "# Getting *Started* #",
      "## Install ##",
      "   ### Indented three",
      "Setext title\n============",
      "Second level\n---",
      "# C#",
    ]);
    assert.deepEqual(
      document.headings.map((heading) => heading.level),
      [1, 2, 3, 1, 2, 1],
    );
    assert.equal(document.title, "Getting Started");
    assert.equal(document.pages, null);
  });

  test("closing hashes are dropped but a glued hash is content", () => {
    assert.deepEqual(
      findMarkdownHeadings("# C#\n## Title ##\n#").map((heading) => heading.content),
      ["C#", "Title"],
    );
  });

  test("an unclosed fence hides the rest of the document", () => {
    assert.deepEqual(findMarkdownHeadings("# A\n```\n# B\n"), [
      { level: 1, charStart: 0, charEnd: 3, content: "A" },
    ]);
  });
});

describe("html", () => {
  const html = `<!doctype html><html><head><title>Caf&eacute; &amp; Co</title>
    <style>body { color: red }</style><script>var x = "<h1>not text</h1>";</script>
    <meta charset="utf-8"></head><body>
    <noscript>Enable JavaScript</noscript><template><p>hidden</p></template>
    <h1>Main   heading</h1>
    <p>First&nbsp;paragraph with <b>bold</b> and <a href="#">a link</a>. 5 &lt; 6 &#8212; ok</p>
    <h2>Sub <em>heading</em></h2>
    <ul><li>one</li><li>two<ol start="3"><li>nested</li></ol></li></ul>
    <table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr></table>
    <pre>  keep
    spacing</pre>
    <div>line<br>break</div>
    <svg><title>icon</title><text>svg text</text></svg>
    </body></html>`;

  test("drops scripts, styles and templates, decodes entities, and marks headings", () => {
    const document = htmlToDocument(html);
    assert.equal(document.title, "Café & Co");
    assert.equal(
      document.text,
      [
        "Main heading",
        "",
        "First paragraph with bold and a link. 5 < 6 — ok",
        "",
        "Sub heading",
        "",
        "- one",
        "- two",
        "  3. nested",
        "",
        "Name\tQty",
        "Apple\t3",
        "",
        "  keep\n    spacing",
        "",
        "line",
        "break",
      ].join("\n"),
    );
    assert.deepEqual(headingTexts(document), ["Main heading", "Sub heading"]);
    assert.deepEqual(
      document.headings.map((heading) => heading.level),
      [1, 2],
    );
    for (const hidden of ["not text", "color", "Enable JavaScript", "hidden", "icon", "svg text"]) {
      assert.ok(!document.text.includes(hidden), `"${hidden}" should not be indexed`);
    }
  });

  test("falls back to the first h1 for the title and survives an unclosed head", () => {
    const document = htmlToDocument(
      "<html><head><meta charset=utf-8><p>Intro</p><h1>The <i>Real</i> Title</h1>",
    );
    assert.equal(document.title, "The Real Title");
    assert.equal(document.text, "Intro\n\nThe Real Title");
  });
});

describe("docx", () => {
  test("headings come through mammoth as heading spans", async () => {
    const bytes = makeDocx([
      { style: "Heading1", text: "Quarterly Report" },
      { text: "Revenue grew &amp; costs fell." },
      { style: "Heading2", text: "Outlook" },
      { text: "Stable." },
    ]);
    const document = await parseDocx({ bytes, filename: "report.docx" });
    assert.equal(
      document.text,
      "Quarterly Report\n\nRevenue grew & costs fell.\n\nOutlook\n\nStable.",
    );
    assert.deepEqual(headingTexts(document), ["Quarterly Report", "Outlook"]);
    assert.equal(document.title, "Quarterly Report");
    const viaIndex = await parseDocument({ bytes, filename: "report.docx", declaredType: null });
    assert.equal(viaIndex.mediaType, DOCX);
  });

  test("a broken DOCX is refused with 422", async () => {
    await assertRefused(
      parseDocx({ bytes: makeZip({ "x.txt": "x" }), filename: "a.docx" }),
      "unprocessable",
      /Word/,
    );
  });
});

describe("pdf", () => {
  const pageLines = [
    ["Alpha page talks about apples", "and a second line"],
    ["Beta page talks about bananas"],
    ["Gamma page talks about cherries"],
  ];

  test("three pages: page count, title, and each page's text inside its span", async () => {
    const bytes = await makePdf(pageLines, "Fruit Handbook");
    const document = await parsePdf({ bytes, filename: "fruit.pdf" }, { pool });
    assert.equal(document.title, "Fruit Handbook");
    const pages = document.pages ?? [];
    assert.deepEqual(
      pages.map((page) => page.number),
      [1, 2, 3],
    );
    pageLines.forEach((lines, index) => {
      const page = pages[index];
      assert.ok(page);
      const pageText = document.text.slice(page.charStart, page.charEnd);
      for (const line of lines)
        assert.ok(pageText.includes(line), `page ${index + 1} should contain "${line}"`);
    });
    assert.equal(document.text.slice(pages[0]?.charEnd, pages[1]?.charStart), "\n\n");
  });

  test("parseDocument dispatches on the bytes, not the name", async () => {
    const bytes = await makePdf(pageLines);
    const { mediaType, parsed } = await parseDocument({
      bytes,
      filename: "fruit.txt",
      declaredType: "text/plain",
      pdfPool: pool,
    });
    assert.equal(mediaType, "application/pdf");
    assert.equal(parsed.pages?.length, 3);
  });

  test("a PDF without text is refused as needing OCR", async () => {
    const pdf = await PDFDocument.create();
    pdf.addPage().drawRectangle({ x: 10, y: 10, width: 100, height: 100 });
    await assertRefused(
      parsePdf({ bytes: await pdf.save(), filename: null }, { pool }),
      "unprocessable",
      /no extractable text.*OCR/,
    );
  });

  test("a truncated PDF and a broken one are refused with 422", async () => {
    const bytes = await makePdf(pageLines);
    const truncated = bytes.slice(0, Math.floor(bytes.length * 0.6));
    await assertRefused(
      parsePdf({ bytes: truncated, filename: null }, { pool }),
      "unprocessable",
      /truncated|not a valid PDF/,
    );
    const broken = encode("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n");
    await assertRefused(
      parsePdf({ bytes: broken, filename: null }, { pool }),
      "unprocessable",
      /not a valid PDF/,
    );
  });

  test("a parse over the time limit is stopped, and the pool recovers", async () => {
    const bytes = await makePdf(pageLines);
    await assertRefused(
      parsePdf({ bytes, filename: null }, { pool, timeoutMs: 1 }),
      "unprocessable",
      /longer than 1 ms/,
    );
    const document = await parsePdf({ bytes, filename: null }, { pool });
    assert.equal(document.pages?.length, 3);
  });

  test("an aborted parse rejects with the abort reason", async () => {
    const bytes = await makePdf(pageLines);
    const controller = new AbortController();
    const parsing = parsePdf({ bytes, filename: null, signal: controller.signal }, { pool });
    controller.abort(new Error("client went away"));
    await assert.rejects(parsing, /client went away/);
  });

  test("concurrent documents on a one-worker pool are queued, not lost", async () => {
    const single = new PdfWorkerPool({ size: 1, maxDocumentsPerWorker: 2 });
    try {
      const files = await Promise.all(
        [1, 2, 3, 4].map((count) =>
          makePdf(pageLines.slice(0, 1).concat(Array(count - 1).fill(["more text here"]))),
        ),
      );
      const documents = await Promise.all(
        files.map((bytes) => parsePdf({ bytes, filename: null }, { pool: single })),
      );
      assert.deepEqual(
        documents.map((document) => document.pages?.length),
        [1, 2, 3, 4],
      );
    } finally {
      await single.close();
    }
  });

  test("a worker that runs out of memory gives a 422, and the pool carries on", async () => {
    // 150k text items need roughly 100 MB of heap; a warmed-up worker fits in under 48 MB.
    const small = new PdfWorkerPool({ size: 1, maxOldGenerationSizeMb: 64 });
    try {
      await assertRefused(
        // a generous time limit: on a loaded machine the 30 s default can come before the memory limit
        parsePdf(
          { bytes: manyLinesPdf(150_000), filename: null },
          { pool: small, timeoutMs: 180_000 },
        ),
        "unprocessable",
        /more than 64 MB of memory/,
      );
      const document = await parsePdf({ bytes: manyLinesPdf(50), filename: null }, { pool: small });
      assert.ok(document.text.startsWith("w0w1") && document.text.endsWith("w49"));
    } finally {
      await small.close();
    }
  });

  test("assemblePages strips control codes and records exact spans", () => {
    const { text, pages } = assemblePages(["  one\u0002two \r\n", "", "three\u0003"]);
    assert.equal(text, "one two\n\n\n\nthree");
    assert.deepEqual(pages, [
      { number: 1, charStart: 0, charEnd: 7 },
      { number: 2, charStart: 9, charEnd: 9 },
      { number: 3, charStart: 11, charEnd: 16 },
    ]);
  });
});

describe("parseDocument", () => {
  test("whitespace-only text is refused", async () => {
    await assertRefused(
      parseDocument({ bytes: encode(" \n\t\n"), filename: "blank.txt", declaredType: null }),
      "unprocessable",
      /no text/,
    );
  });

  test("markdown and html dispatch to their parsers", async () => {
    const markdown = await parseDocument({
      bytes: encode("# Hi\n\ntext"),
      filename: "a.md",
      declaredType: null,
    });
    assert.equal(markdown.mediaType, "text/markdown");
    assert.equal(markdown.parsed.title, "Hi");
    const html = await parseDocument({
      bytes: encode("<!DOCTYPE html><h1>Hi</h1>"),
      filename: null,
      declaredType: null,
    });
    assert.equal(html.mediaType, "text/html");
    assert.equal(html.parsed.text, "Hi");
  });
});
