import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  type ChunkingOptions,
  chunkingOptionsSchema,
  chunkText,
  DEFAULT_CHUNKING,
  type TextChunk,
} from "../src/ingest/chunker.ts";
import type { HeadingSpan } from "../src/ingest/parsers/parser.ts";
import { countTokens } from "../src/ingest/tokenizer.ts";

/** Asserts every documented invariant of `chunkText` for one input. */
function assertChunkInvariants(text: string, chunks: TextChunk[], options: ChunkingOptions): void {
  let previous: TextChunk | undefined;
  let coveredTo = 0;
  for (const chunk of chunks) {
    assert.equal(text.slice(chunk.charStart, chunk.charEnd), chunk.text, "slice matches text");
    assert.ok(chunk.text.length > 0, "chunk is not empty");
    assert.equal(chunk.text, chunk.text.trim(), "chunk is trimmed");
    assert.equal(chunk.tokenCount, countTokens(chunk.text), "tokenCount is the real count");
    assert.ok(chunk.tokenCount <= options.maxTokens, `${chunk.tokenCount} > ${options.maxTokens}`);
    assert.ok(!/^[\udc00-\udfff]/.test(chunk.text), "does not start inside a surrogate pair");
    assert.ok(!/[\ud800-\udbff]$/.test(chunk.text), "does not end inside a surrogate pair");
    if (previous !== undefined) {
      assert.ok(chunk.charStart > previous.charStart, "starts in order");
      assert.ok(chunk.charEnd > previous.charEnd, "ends in order");
      if (chunk.charStart < previous.charEnd) {
        const overlap = countTokens(text.slice(chunk.charStart, previous.charEnd));
        assert.ok(
          overlap <= options.overlapTokens,
          `overlap ${overlap} > ${options.overlapTokens}`,
        );
      }
    }
    // Everything between the covered prefix and this chunk must be whitespace.
    if (chunk.charStart > coveredTo) {
      assert.equal(text.slice(coveredTo, chunk.charStart).trim(), "", "gap is whitespace");
    }
    coveredTo = Math.max(coveredTo, chunk.charEnd);
    previous = chunk;
  }
  assert.equal(text.slice(coveredTo).trim(), "", "tail is whitespace");
}

const WORDS = ["flow", "boundary", "layer", "the", "of", "Mach", "3.5", "x", "pressure's", "e.g."];
const UNICODE_WORDS = [
  "café",
  "naïve",
  "e\u0301\u0301",
  "中文字符串",
  "日本語のテキスト",
  "👍🏽",
  "👨‍👩‍👧‍👦",
  "🇫🇷",
  "Ω≈ç√",
  "z̴̢̧a̷l̵g̸o̶",
  "ﬁ",
  "<|endoftext|>",
  "ภาษาไทย",
];
const SEPARATORS = [
  " ",
  "  ",
  "\n",
  "\n\n",
  "\t",
  ". ",
  "! ",
  "。",
  "\r\n",
  "\f",
  "\u00a0",
  "\n  \n",
];

interface Fragment {
  text: string;
  heading: boolean;
}

const fragmentArbitrary: fc.Arbitrary<Fragment> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...WORDS).map((text) => ({ text, heading: false })) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(...UNICODE_WORDS).map((text) => ({ text, heading: false })),
  },
  {
    weight: 8,
    arbitrary: fc.constantFrom(...SEPARATORS).map((text) => ({ text, heading: false })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: "grapheme", maxLength: 8 })
      .map((text) => ({ text, heading: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("a", "ab", "中", "😀", "-", " "), fc.integer({ min: 1, max: 300 }))
      .map(([unit, count]) => ({ text: unit.repeat(count), heading: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("Introduction", "2 Results", "Émission", "见解")
      .map((title) => ({ text: `# ${title}`, heading: true })),
  },
);

/** Joins fragments into a document, with a heading span for each heading fragment. */
function buildDocument(fragments: Fragment[]): { text: string; headings: HeadingSpan[] } {
  let text = "";
  const headings: HeadingSpan[] = [];
  for (const fragment of fragments) {
    if (fragment.heading) {
      text += "\n";
      headings.push({
        level: 1,
        charStart: text.length,
        charEnd: text.length + fragment.text.length,
      });
      text += `${fragment.text}\n`;
    } else {
      text += fragment.text;
    }
  }
  return { text, headings };
}

const optionsArbitrary: fc.Arbitrary<ChunkingOptions> = fc
  .integer({ min: 16, max: 300 })
  .chain((maxTokens) =>
    fc
      .integer({ min: 0, max: Math.floor(maxTokens / 2) })
      .map((overlapTokens) => ({ maxTokens, overlapTokens })),
  );

describe("chunkText", () => {
  test("holds its invariants on random texts and options", () => {
    fc.assert(
      fc.property(
        fc.array(fragmentArbitrary, { maxLength: 400, size: "medium" }),
        optionsArbitrary,
        (fragments, options) => {
          const document = buildDocument(fragments);
          const chunks = chunkText(document, options);
          assertChunkInvariants(document.text, chunks, options);
          assert.deepEqual(chunkText(document, options), chunks, "deterministic");
        },
      ),
      { numRuns: 400 },
    );
  });

  test("tolerates heading spans out of range, duplicated or unsorted", () => {
    const text = "alpha beta\n\n# Gamma\n\ndelta epsilon\n";
    const headings = [
      { level: 1, charStart: 12, charEnd: 19 },
      { level: 2, charStart: 12, charEnd: 14 },
      { level: 1, charStart: 500, charEnd: 510 },
      { level: 1, charStart: -3, charEnd: 2 },
      { level: 3, charStart: 0, charEnd: 5 },
    ];
    const options = { maxTokens: 16, overlapTokens: 4 };
    assertChunkInvariants(text, chunkText({ text, headings }, options), options);
  });

  test("starts a chunk at a heading rather than ending one with it", () => {
    const paragraph = (word: string) => `${`${word} `.repeat(60).trim()}.\n\n`;
    const intro = paragraph("alpha") + paragraph("beta");
    const heading = "## Methods";
    const text = `${intro}${heading}\n\n${paragraph("gamma")}${paragraph("delta")}`;
    const headingStart = intro.length;
    const headings = [
      { level: 2, charStart: headingStart, charEnd: headingStart + heading.length },
    ];
    const options = { maxTokens: 200, overlapTokens: 40 };
    const chunks = chunkText({ text, headings }, options);
    assertChunkInvariants(text, chunks, options);
    assert.ok(chunks.some((chunk) => chunk.charStart === headingStart));
    for (const chunk of chunks) {
      assert.ok(!chunk.text.endsWith(heading), "no chunk ends with the heading");
      if (chunk.charStart < headingStart)
        assert.ok(chunk.charEnd <= headingStart, "no overlap into it");
    }
  });

  test("keeps a heading-only section with the section after it", () => {
    const body = `${"word ".repeat(150).trim()}.\n\n`;
    const text = `${body}# Part II\n\n## Chapter 3\n\n${body}`;
    const part = body.length;
    const chapter = text.indexOf("## Chapter");
    const headings = [
      { level: 1, charStart: part, charEnd: part + 9 },
      { level: 2, charStart: chapter, charEnd: chapter + 12 },
    ];
    const options = { maxTokens: 200, overlapTokens: 0 };
    const chunks = chunkText({ text, headings }, options);
    assertChunkInvariants(text, chunks, options);
    assert.deepEqual(
      chunks.map((chunk) => chunk.charStart),
      [0, part],
    );
  });

  test("merges small whole sections into one chunk", () => {
    const text = "# A\nshort one.\n# B\nshort two.\n# C\nshort three.";
    const headings = [0, 15, 30].map((charStart) => ({
      level: 1,
      charStart,
      charEnd: charStart + 3,
    }));
    const chunks = chunkText({ text, headings }, DEFAULT_CHUNKING);
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]?.text, text);
  });

  test("hard-splits a 20k-token unbroken string within limits", () => {
    let seed = 7;
    let run = "";
    while (run.length < 40_000) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      run += String.fromCharCode(97 + (seed % 26));
    }
    assert.ok(countTokens(run) >= 20_000);
    const text = `Before.\n\n${run}\n\nAfter.`;
    for (const options of [DEFAULT_CHUNKING, { maxTokens: 16, overlapTokens: 0 }]) {
      const chunks = chunkText({ text, headings: [] }, options);
      assertChunkInvariants(text, chunks, options);
      // BPE is greedy, so cut pieces can take slightly fewer tokens than the whole run
      assert.ok(chunks.length >= (0.9 * countTokens(run)) / options.maxTokens);
    }
  });

  test("hard cuts avoid splitting grapheme clusters", () => {
    for (const cluster of ["e\u0301", "👍🏽", "👨‍👩‍👧", "z̴̢̧"]) {
      const text = cluster.repeat(400);
      const options = { maxTokens: 16, overlapTokens: 0 };
      const chunks = chunkText({ text, headings: [] }, options);
      assertChunkInvariants(text, chunks, options);
      for (const chunk of chunks)
        assert.ok(chunk.text.startsWith(cluster), JSON.stringify(chunk.text));
    }
  });

  test("returns nothing for empty or whitespace-only text", () => {
    assert.deepEqual(chunkText({ text: "", headings: [] }, DEFAULT_CHUNKING), []);
    assert.deepEqual(chunkText({ text: " \n\n\t\f\u00a0 ", headings: [] }, DEFAULT_CHUNKING), []);
  });

  test("validates options", () => {
    assert.throws(() =>
      chunkText({ text: "x", headings: [] }, { maxTokens: 9000, overlapTokens: 0 }),
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 9000, overlapTokens: 0 }).success,
      false,
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 15, overlapTokens: 0 }).success,
      false,
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 100, overlapTokens: 51 }).success,
      false,
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 100.5, overlapTokens: 0 }).success,
      false,
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 100, overlapTokens: -1 }).success,
      false,
    );
    assert.equal(
      chunkingOptionsSchema.safeParse({ maxTokens: 100, overlapTokens: 50 }).success,
      true,
    );
    assert.equal(chunkingOptionsSchema.safeParse(DEFAULT_CHUNKING).success, true);
  });
});

describe("chunkText on the Cranfield collection", () => {
  const shared = new URL("../../shared/", import.meta.url);
  const docsPath = fileURLToPath(new URL("datasets/cranfield/docs.jsonl", shared));
  const skip = existsSync(docsPath) ? false : `no ${docsPath}`;

  test("holds its invariants on concatenated real documents", { skip }, () => {
    const docs = readFileSync(docsPath, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { title: string; text: string });
    const groupSize = 100;
    const optionSets: ChunkingOptions[] = [
      DEFAULT_CHUNKING,
      { maxTokens: 64, overlapTokens: 16 },
      { maxTokens: 16, overlapTokens: 8 },
    ];
    for (let first = 0; first < docs.length; first += groupSize) {
      let text = "";
      const headings: HeadingSpan[] = [];
      for (const doc of docs.slice(first, first + groupSize)) {
        headings.push({
          level: 1,
          charStart: text.length,
          charEnd: text.length + doc.title.length,
        });
        text += `${doc.title}\n\n${doc.text}\n\n`;
      }
      const options = optionSets[(first / groupSize) % optionSets.length] ?? DEFAULT_CHUNKING;
      assertChunkInvariants(text, chunkText({ text, headings }, options), options);
    }
  });
});
