import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stem } from "../src/embed/stem.ts";
import { bm25Idf, bm25Score, countTerms, proximityScore } from "../src/search/bm25.ts";
import { keywordQueryTerms, keywordTokens } from "../src/search/keyword-terms.ts";
import { interpolateQueryModels, relevanceModel } from "../src/search/rm3.ts";

const close = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} ≠ ${expected}`);

describe("weighted BM25", () => {
  test("matches a hand computation", () => {
    // N 10, df 2, tf 3, |d| 10, avgdl 5, k1 1.2, b 0.75, query weight 0.5:
    // idf = ln(1 + 8.5 / 2.5) = ln 4.4; K = 1.2·(0.25 + 0.75·2) = 2.1; tf part = 6.6 / 5.1
    const statistics = {
      documents: 10,
      averageLength: 5,
      documentFrequencies: new Map([["flow", 2]]),
    };
    const document = { frequencies: new Map([["flow", 3]]), length: 10 };
    close(bm25Idf(2, 10), Math.log(4.4));
    close(
      bm25Score(new Map([["flow", 0.5]]), document, statistics),
      (0.5 * Math.log(4.4) * 6.6) / 5.1,
    );
    // terms the document lacks add nothing; weights scale linearly
    close(
      bm25Score(
        new Map([
          ["flow", 1],
          ["heat", 1],
        ]),
        document,
        statistics,
      ),
      (Math.log(4.4) * 6.6) / 5.1,
    );
  });

  test("k1 and b change saturation and length normalisation", () => {
    const statistics = { documents: 10, averageLength: 5, documentFrequencies: new Map() };
    const document = { frequencies: new Map([["x", 1]]), length: 5 };
    // |d| = avgdl and tf 1: the tf part is (k1 + 1) / (1 + k1) = 1 whatever k1 and b are
    const idf = bm25Idf(1, 10);
    close(bm25Score(new Map([["x", 1]]), document, statistics, { k1: 0.9, b: 0.4 }), idf);
    close(bm25Score(new Map([["x", 1]]), document, statistics, { k1: 1.2, b: 0 }), idf);
  });

  test("proximity (BM25TP) matches a hand computation", () => {
    // "a x b": a and b 2 apart; idf(a) = idf(b) = ln(1 + 9.5 / 1.5); acc = idf / 4 each;
    // |d| = avgdl, so K = k1 = 1.2; each term adds min(1, idf)·acc·2.2 / (acc + 1.2)
    const statistics = {
      documents: 10,
      averageLength: 3,
      documentFrequencies: new Map([
        ["a", 1],
        ["b", 1],
      ]),
    };
    const query = new Map([
      ["a", 1],
      ["b", 1],
    ]);
    const idf = Math.log(1 + 9.5 / 1.5);
    const accumulator = idf / 4;
    close(
      proximityScore(query, ["a", "x", "b"], statistics),
      (2 * accumulator * 2.2) / (accumulator + 1.2),
    );
    // one query term, or the same term twice, has no proximity
    assert.equal(proximityScore(new Map([["a", 1]]), ["a", "a"], statistics), 0);
    assert.equal(proximityScore(query, ["a", "x", "a"], statistics), 0);
  });
});

describe("RM3 query models", () => {
  test("relevance model: score-weighted P(t|d), stop words and numbers left out, sums to 1", () => {
    const feedback = [
      { counts: countTerms(["the", "flow", "flow", "heat"]), score: 3 },
      { counts: countTerms(["flow", "wing", "12"]), score: 1 },
    ];
    const model = relevanceModel(feedback, 2);
    // flow: 0.75·2/4 + 0.25·1/3; heat: 0.75·1/4; wing: 0.25·1/3 (cut at 2 terms)
    const flow = 0.375 + 0.25 / 3;
    const heat = 0.1875;
    assert.deepEqual([...model.keys()], ["flow", "heat"]);
    close(model.get("flow") ?? 0, flow / (flow + heat));
    close(model.get("heat") ?? 0, heat / (flow + heat));
  });

  test("interpolation: λ·P(t|Q) + (1 − λ)·P(t|R)", () => {
    const mixed = interpolateQueryModels(
      new Map([
        ["flow", 1],
        ["wing", 3],
      ]),
      new Map([
        ["flow", 0.5],
        ["lift", 0.5],
      ]),
      0.5,
    );
    close(mixed.get("flow") ?? 0, 0.125 + 0.25);
    close(mixed.get("wing") ?? 0, 0.375);
    close(mixed.get("lift") ?? 0, 0.25);
    // no query terms: the expansion alone
    close(interpolateQueryModels(new Map(), new Map([["x", 1]]), 0.5).get("x") ?? 0, 1);
  });
});

describe("keyword terms as FTS5 sees them", () => {
  test("tokens: unicode61 splitting and folding, Porter stems, stop words kept", () => {
    assert.deepEqual(keywordTokens("The hypersonic Flows, at 1.5 Mach — été"), [
      "the",
      stem("hypersonic"),
      "flow",
      "at",
      "1",
      "5",
      "mach",
      stem("ete"),
    ]);
  });

  test("query terms drop stop words unless nothing else is left", () => {
    assert.deepEqual([...keywordQueryTerms("the flow of the flows")], [["flow", 2]]);
    assert.deepEqual(
      [...keywordQueryTerms("the of")],
      [
        ["the", 1],
        ["of", 1],
      ],
    );
  });
});
