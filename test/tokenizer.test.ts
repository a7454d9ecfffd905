import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";
import {
  charOffsetAfterTokens,
  countTokens,
  encode,
  PrefixCounter,
} from "../src/ingest/tokenizer.ts";

const reference = new Tiktoken(cl100kBase);

const textArbitrary = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc
    .array(
      fc.constantFrom(
        "the",
        " flow",
        "  ",
        "\n\n",
        "'s",
        "123456",
        "é",
        "中文",
        "👨‍👩‍👧",
        "<|endoftext|>",
      ),
      { maxLength: 60 },
    )
    .map((parts) => parts.join("")),
);

describe("tokenizer", () => {
  test("encodes exactly as js-tiktoken's cl100k_base, special tokens as plain text", () => {
    fc.assert(
      fc.property(textArbitrary, (text) => {
        const ids = encode(text);
        assert.deepEqual(ids, reference.encode(text, [], []));
        assert.equal(countTokens(text), ids.length);
      }),
      { numRuns: 500 },
    );
  });

  test("merges long pre-tokens like js-tiktoken", () => {
    let seed = 1;
    let letters = "";
    while (letters.length < 2000) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      letters += String.fromCharCode(97 + (seed % 26));
    }
    assert.deepEqual(encode(letters), reference.encode(letters, [], []));
  });

  test("finds the char offset after the first n tokens, on code-point boundaries", () => {
    fc.assert(
      fc.property(textArbitrary, fc.nat(), (text, seed) => {
        const ids = encode(text);
        const tokens = ids.length === 0 ? 0 : seed % (ids.length + 1);
        const offset = charOffsetAfterTokens(text, tokens);
        assert.ok(offset >= 0 && offset <= text.length);
        const code = text.charCodeAt(offset);
        const before = text.charCodeAt(offset - 1);
        const splitsPair = code >= 0xdc00 && code <= 0xdfff && before >= 0xd800 && before <= 0xdbff;
        assert.ok(!splitsPair, "offset does not split a surrogate pair");
        // The longest prefix within the budget: it fits, and one more code point would not.
        assert.ok(countTokens(text.slice(0, offset)) <= tokens);
        if (offset < text.length) {
          const step = text.codePointAt(offset)! > 0xffff ? 2 : 1;
          assert.ok(countTokens(text.slice(0, offset + step)) > tokens);
        }
        if (tokens === ids.length) assert.equal(offset, text.length);
      }),
      { numRuns: 500 },
    );
    assert.equal(charOffsetAfterTokens("hello world", 0), 0);
    assert.equal(charOffsetAfterTokens("hello world", 1), 5);
    assert.equal(charOffsetAfterTokens("hello world", 99), 11);
  });

  test("counts every prefix exactly from one scan of the whole text", () => {
    const mixed = fc
      .array(
        fc.constantFrom(
          "a",
          "word",
          " ",
          "   ",
          "\n",
          "\r\n",
          "\t",
          "'s",
          "'ll",
          "1",
          "2024",
          ".",
          "...",
          "!?",
          "é",
          "中文",
          "😀",
          "👨‍👩‍👧",
          "\u00a0",
          "-",
        ),
        { maxLength: 80 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(textArbitrary, mixed), (text) => {
        const prefixes = new PrefixCounter(text);
        assert.equal(prefixes.total, countTokens(text));
        for (let end = 0; end <= text.length; end++) {
          assert.equal(prefixes.count(end), countTokens(text.slice(0, end)), `prefix ${end}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});
