import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseQrels } from "../eval/dataset.ts";
import {
  averagePrecisionAt,
  mrrAt,
  ndcgAt,
  percentile,
  recallAt,
  summarize,
} from "../eval/metrics.ts";

const close = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

describe("eval metrics (hand-computed)", () => {
  const judged = new Map([
    ["a", 1],
    ["c", 3],
  ]);

  it("nDCG@k uses linear gain, log2 discount and the ideal order of all judgments", () => {
    // DCG = 1/log2(2) + 3/log2(4) = 2.5; IDCG = 3/log2(2) + 1/log2(3)
    close(ndcgAt(["a", "b", "c"], judged, 10), 2.5 / (3 + 1 / Math.log2(3)));
    close(ndcgAt(["c", "a"], judged, 10), 1);
    // only the top k count, but the ideal still holds both judgments
    close(ndcgAt(["b", "c", "a"], judged, 1), 0);
    close(ndcgAt(["a", "c"], judged, 1), 1 / 3);
    close(ndcgAt([], judged, 10), 0);
    close(ndcgAt(["a"], new Map(), 10), 0);
  });

  it("Recall@k is the share of relevant documents in the top k", () => {
    close(recallAt(["a", "b", "c"], judged, 2), 0.5);
    close(recallAt(["a", "b", "c"], judged, 3), 1);
    close(recallAt(["x"], judged, 100), 0);
  });

  it("MRR@k is the reciprocal rank of the first relevant document, 0 beyond k", () => {
    close(mrrAt(["a", "b"], judged, 10), 1);
    close(mrrAt(["x", "y", "c"], judged, 10), 1 / 3);
    close(mrrAt(["x", "y", "c"], judged, 2), 0);
  });

  it("AP@k divides by every relevant document, as trec_eval does", () => {
    const three = new Map([
      ["a", 1],
      ["c", 2],
      ["d", 1],
    ]);
    close(averagePrecisionAt(["a", "b", "c"], three, 100), (1 + 2 / 3) / 3);
    close(averagePrecisionAt(["b", "a"], three, 1), 0);
  });

  it("summarize averages over queries and percentile uses nearest rank", () => {
    const summary = summarize([
      { ranked: ["c", "a"], judged },
      { ranked: ["x"], judged },
    ]);
    close(summary.ndcg10, 0.5);
    close(summary.mrr10, 0.5);
    close(summary.recall100, 0.5);
    assert.equal(summary.queries, 2);
    assert.equal(percentile([5, 1, 3, 2, 4], 0.5), 3);
    assert.equal(percentile([5, 1, 3, 2, 4], 0.99), 5);
    assert.equal(percentile([], 0.5), 0);
  });

  it("parses qrels with a header and ignores non-positive grades", () => {
    const qrels = parseQrels("query-id\tdoc-id\tscore\n1\t12\t2\n1\t13\t1\n2\t5\t0\n");
    assert.deepEqual(
      [...(qrels.get("1") ?? [])],
      [
        ["12", 2],
        ["13", 1],
      ],
    );
    assert.equal(qrels.has("2"), false);
    assert.throws(() => parseQrels("h\th\th\n1\t2\n"), /malformed/);
  });
});
