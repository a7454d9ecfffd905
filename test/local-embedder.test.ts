import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { analyzeText, embedText, LocalEmbeddingModel } from "../src/embed/local-embedder.ts";
import { stem } from "../src/embed/stem.ts";
import { countTokens } from "../src/ingest/tokenizer.ts";

function cosine(left: Float32Array, right: Float32Array): number {
  let dot = 0;
  for (let index = 0; index < left.length; index++) dot += (left[index] ?? 0) * (right[index] ?? 0);
  return dot;
}

function norm(vector: Float32Array): number {
  return Math.sqrt(cosine(vector, vector));
}

async function embedOne(model: LocalEmbeddingModel, value: string): Promise<Float32Array> {
  const { embeddings } = await model.doEmbed({ values: [value], purpose: "document" });
  const [embedding] = embeddings;
  assert.ok(embedding !== undefined);
  return embedding;
}

describe("LocalEmbeddingModel", () => {
  const model = new LocalEmbeddingModel();

  test("describes itself and its limits", () => {
    assert.deepEqual(model.config, {
      provider: "local",
      model: "gleaner-lexical-v1",
      dimensions: 256,
    });
    assert.equal(model.maxEmbeddingsPerCall, 2048);
    assert.equal(model.maxTokensPerCall, 1_000_000);
    assert.equal(model.maxTokensPerValue, 8191);
    assert.equal(model.maxConcurrentCalls, 1);
  });

  test("is deterministic across calls and instances", async () => {
    const values = ["Boundary-layer transition at Mach 3.5", "中文 text, café"];
    const first = await model.doEmbed({ values, purpose: "document" });
    const second = await new LocalEmbeddingModel().doEmbed({ values, purpose: "document" });
    assert.deepEqual(first, second);
  });

  test("returns unit vectors of the configured dimension, in order, with token usage", async () => {
    for (const dimensions of [32, 256, 4096]) {
      const sized = new LocalEmbeddingModel({ dimensions });
      assert.equal(sized.config.dimensions, dimensions);
      const values = ["supersonic flow over a cone", "a", "heat transfer in slabs"];
      const result = await sized.doEmbed({ values, purpose: "query" });
      assert.equal(result.embeddings.length, values.length);
      values.forEach((value, index) => {
        const embedding = result.embeddings[index];
        assert.ok(embedding !== undefined);
        assert.equal(embedding.length, dimensions);
        assert.deepEqual(embedding, embedText(value, "query", dimensions));
      });
      assert.ok(Math.abs(norm(result.embeddings[0] ?? new Float32Array()) - 1) < 1e-5);
      const tokens = values.reduce((sum, value) => sum + countTokens(value), 0);
      assert.equal(result.usage.tokens, tokens);
    }
  });

  test("rejects dimensions outside 32..4096 or fractional", () => {
    for (const dimensions of [31, 4097, 100.5]) {
      assert.throws(() => new LocalEmbeddingModel({ dimensions }));
    }
  });

  test("places a paraphrase closer than an unrelated text", async () => {
    const text = await embedOne(model, "boundary layer transition on a flat plate");
    const paraphrase = await embedOne(model, "transition of boundary layers over flat plates");
    const unrelated = await embedOne(model, "heat conduction in composite slabs");
    assert.ok(cosine(text, paraphrase) > 0.5);
    assert.ok(cosine(text, paraphrase) > cosine(text, unrelated) + 0.3);
  });

  test("matches morphological variants through stemming", async () => {
    assert.deepEqual(analyzeText("stemming", "document"), analyzeText("stemmed", "document"));
    const left = await embedOne(model, "stemming algorithms");
    const right = await embedOne(model, "stemmed algorithm");
    assert.ok(cosine(left, right) > 0.999);
  });

  test("embeds stop-words-only and empty text as the all-zero vector", async () => {
    const { embeddings } = await model.doEmbed({
      values: ["the of and which is", "", "  ..."],
      purpose: "query",
    });
    for (const embedding of embeddings) {
      assert.ok(embedding.every((value) => value === 0));
    }
  });

  test("stops when its signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("cancelled"));
    await assert.rejects(
      model.doEmbed({ values: ["x"], purpose: "document", signal: controller.signal }),
      /cancelled/,
    );
  });
});

describe("analyzeText", () => {
  test("normalises, drops stop words and stems", () => {
    assert.deepEqual(analyzeText("The Café's NAÏVE ﬁles, at Mach 3.5!", "document"), [
      "cafe",
      "naiv",
      "file",
      "mach",
      "3.5",
    ]);
  });

  test("drops request words from queries only", () => {
    assert.deepEqual(analyzeText("Please explain how boundary layers separate", "query"), [
      "boundari",
      "layer",
      "separ",
    ]);
    assert.deepEqual(analyzeText("please explain", "document"), ["pleas", "explain"]);
  });

  test("splits Han and kana into single-character terms", () => {
    assert.deepEqual(analyzeText("中文テキストabc", "document"), [
      "中",
      "文",
      "テ",
      "キ",
      "ス",
      "ト",
      "abc",
    ]);
  });
});

describe("stem (Porter)", () => {
  test("gives the reference Porter outputs", () => {
    const cases: [string, string][] = [
      ["caresses", "caress"],
      ["ponies", "poni"],
      ["ties", "ti"],
      ["caress", "caress"],
      ["cats", "cat"],
      ["feed", "feed"],
      ["agreed", "agre"],
      ["plastered", "plaster"],
      ["bled", "bled"],
      ["motoring", "motor"],
      ["sing", "sing"],
      ["conflated", "conflat"],
      ["troubled", "troubl"],
      ["sized", "size"],
      ["hopping", "hop"],
      ["tanned", "tan"],
      ["falling", "fall"],
      ["hissing", "hiss"],
      ["fizzed", "fizz"],
      ["failing", "fail"],
      ["filing", "file"],
      ["happy", "happi"],
      ["sky", "sky"],
      ["relational", "relat"],
      ["conditional", "condit"],
      ["rational", "ration"],
      ["generalization", "gener"],
      ["oscillators", "oscil"],
      ["considerations", "consider"],
      ["detestable", "detest"],
      ["vileness", "vile"],
      ["electrical", "electr"],
      ["hopeful", "hope"],
      ["goodness", "good"],
      ["adjustment", "adjust"],
      ["controlling", "control"],
      ["roll", "roll"],
      ["abilities", "abil"],
      ["accordingly", "accordingli"],
      ["dying", "dy"],
      ["archaeology", "archaeolog"],
      ["youth", "youth"],
      ["by", "by"],
    ];
    for (const [word, expected] of cases) assert.equal(stem(word), expected, word);
  });

  test("leaves numbers and words without Latin letters alone", () => {
    for (const word of ["3.5", "中文"]) assert.equal(stem(word), word);
  });
});
