import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadDataset, subsetDataset } from "../eval/dataset.ts";
import { evaluateDataset } from "../eval/evaluate.ts";
import { InProcessTarget } from "../eval/targets.ts";

/*
 * A small retrieval eval per development collection, through the real ingest queue and search
 * service: the first queries of each over their judged documents plus every n-th other one.
 * Floors sit a little under the values measured when they were set (EVAL.md), so a ranking
 * regression fails; the searches are deterministic (hybrid with the local embedder is
 * BM25 + RM3, no HNSW), so the margin only absorbs harmless reorderings of ties.
 */
const DATASETS = fileURLToPath(new URL("../../shared/datasets/", import.meta.url));

interface Case {
  name: string;
  queries: number;
  keepEvery: number;
  /** nDCG@10 floors: keyword, hybrid. */
  floors: { keyword: number; hybrid: number };
}

// measured 2026-12-08 on these subsets (keyword / hybrid / FTS5 bm25 + stop words / BM25+RM3):
// cranfield 0.451 / 0.463 / 0.447 / 0.466, cisi 0.378 / 0.375 / 0.337 / 0.362,
// npl 0.687 / 0.712 / 0.694 / 0.707
const CASES: Case[] = [
  { name: "cranfield", queries: 60, keepEvery: 4, floors: { keyword: 0.43, hybrid: 0.44 } },
  { name: "cisi", queries: 40, keepEvery: 2, floors: { keyword: 0.36, hybrid: 0.355 } },
  { name: "npl", queries: 40, keepEvery: 8, floors: { keyword: 0.665, hybrid: 0.69 } },
];

describe("retrieval quality on development-collection subsets", () => {
  for (const { name, queries, keepEvery, floors } of CASES) {
    const directory = `${DATASETS}${name}`;
    it(`${name}: keyword and hybrid stay above their floors`, {
      skip: existsSync(directory) ? false : `no ${name} data at ${directory}`,
    }, async () => {
      const dataset = subsetDataset(loadDataset(directory), queries, keepEvery);
      const target = new InProcessTarget();
      try {
        const result = await evaluateDataset(dataset, target, ["keyword", "hybrid"]);
        const row = (system: string) => {
          const found = result.rows.find((candidate) => candidate.system === system);
          assert.ok(found, `no ${system} row`);
          return found;
        };
        console.log(
          `${name}: ${result.rows.map((r) => `${r.system} ${r.ndcg10.toFixed(3)}`).join("; ")}`,
        );
        const keyword = row("keyword");
        const hybrid = row("hybrid");
        assert.equal(keyword.queries, queries);
        assert.ok(keyword.ndcg10 >= floors.keyword, `keyword ${keyword.ndcg10}`);
        assert.ok(hybrid.ndcg10 >= floors.hybrid, `hybrid ${hybrid.ndcg10}`);
        // the keyword engine is the floor: plain FTS5 bm25() with stop words must not beat it
        // by more than tie noise
        const fts5 = row("FTS5 bm25 + stop words");
        assert.ok(keyword.ndcg10 >= fts5.ndcg10 - 0.01, "keyword fell below FTS5 bm25()");
      } finally {
        await target.close();
      }
    });
  }
});
