import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { STOP_WORDS } from "../src/embed/text-analysis.ts";
import { bm25Score, countTerms } from "../src/search/bm25.ts";
import { InvertedIndex, indexTerms } from "../src/search/inverted-index.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { putDocument, runStoreContract } from "./support/store-contract.ts";
import { makeTempDir } from "./support/temp-dir.ts";

/*
 * The in-memory keyword index against a brute-force weighted BM25 (bm25.ts) over the same
 * chunks, on random corpora: GLEANER_TEST_SEED=<n> replays one.
 */

const WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu the of and".split(
  " ",
);

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function corpus(seed: number, size: number) {
  const next = random(seed);
  const pick = () => WORDS[Math.floor(next() * WORDS.length)] as string;
  return Array.from({ length: size }, (_, index) => ({
    chunkId: index * 3 + 1,
    title: next() < 0.5 ? pick() : "",
    text: Array.from({ length: 1 + Math.floor(next() * 30) }, pick).join(" "),
  }));
}

describe("InvertedIndex", () => {
  const seed = Number(process.env.GLEANER_TEST_SEED ?? Date.now() % 1_000_000);
  test(`ranks as brute-force weighted BM25 does (seed ${seed})`, () => {
    for (let round = 0; round < 20; round++) {
      const chunks = corpus(seed + round, 200);
      const index = new InvertedIndex();
      for (const chunk of chunks) index.add(chunk);
      const removed = chunks.filter((_, i) => i % 7 === 0).map((chunk) => chunk.chunkId);
      index.remove(removed);
      const live = chunks.filter((chunk) => !removed.includes(chunk.chunkId));
      const next = random(seed * 31 + round);
      // small k lets early termination cut in (the k-th best passes what is left to add)
      const k = [1, 3, 10][round % 3] as number;
      const query = new Map<string, number>();
      for (let i = 0; i < 1 + Math.floor(next() * 8); i++) {
        query.set(indexTerms(WORDS[Math.floor(next() * 12)] as string).terms[0] as string, next());
      }
      const documentFrequencies = new Map(
        [...query.keys()].map((term) => [term, index.documentFrequency(term)]),
      );
      const statistics = {
        documents: index.size,
        averageLength: index.averageLength,
        documentFrequencies,
      };
      const expected = live
        .map((chunk) => {
          const title = indexTerms(chunk.title);
          const text = indexTerms(chunk.text);
          const counts = countTerms([...title.terms, ...text.terms]);
          const score = bm25Score(
            query,
            { frequencies: counts.frequencies, length: title.length + text.length },
            statistics,
          );
          return { chunkId: chunk.chunkId, score };
        })
        .filter((item) => item.score > 0)
        .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId)
        .slice(0, k);
      const got = index.search(query, k);
      const context = `seed ${seed + round}, query ${JSON.stringify([...query])}`;
      assert.equal(got.length, expected.length, context);
      got.forEach((hit, i) => {
        assert.ok(Math.abs(hit.score - (expected[i]?.score ?? 0)) < 1e-9, context);
      });
      for (const hit of got) assert.ok(!removed.includes(hit.chunkId), context);
    }
  });

  test("early termination skips the long lists of light terms and stays exact", () => {
    const index = new InvertedIndex();
    for (let id = 1; id <= 2000; id++) {
      const rare = id % 100 === 0 ? " flutter" : "";
      index.add({ chunkId: id, title: "", text: `common word${id % 3}${rare} filler` });
    }
    const query = new Map([
      ["flutter", 1],
      ["common", 0.01],
      ["word0", 0.01],
      ["word1", 0.01],
      ["filler", 0.01],
    ]);
    const hits = index.search(query, 5);
    assert.ok(index.lastWalk.walked < index.lastWalk.terms, JSON.stringify(index.lastWalk));
    const full = new InvertedIndex();
    for (let id = 1; id <= 2000; id++) {
      const rare = id % 100 === 0 ? " flutter" : "";
      full.add({ chunkId: id, title: "", text: `common word${id % 3}${rare} filler` });
    }
    // k large enough that nothing can be cut: every list is walked
    const all = full.search(query, 2000);
    assert.equal(full.lastWalk.walked, full.lastWalk.terms);
    assert.deepEqual(hits, all.slice(0, 5));
  });

  test("stop words are not posted but count in a chunk's length", () => {
    const index = new InvertedIndex();
    index.add({ chunkId: 1, title: "", text: "the wing of the aircraft" });
    index.add({ chunkId: 2, title: "", text: "wing aircraft" });
    assert.equal(index.documentFrequency("the"), 0);
    assert.equal(index.averageLength, 3.5);
    const hits = index.search(new Map([["wing", 1]]), 5);
    assert.deepEqual(
      hits.map((hit) => hit.chunkId),
      [2, 1],
    );
  });

  test("a filter vets candidates and k still holds", () => {
    const index = new InvertedIndex();
    for (let id = 1; id <= 3000; id++) {
      index.add({ chunkId: id, title: "", text: `wing ${"panel ".repeat(id % 7)}` });
    }
    const hits = index.search(new Map([["wing", 1]]), 5, (ids) => {
      return new Set(ids.filter((id) => id % 1000 === 0));
    });
    assert.deepEqual(hits.map((hit) => hit.chunkId).sort(), [1000, 2000, 3000]);
  });

  test("a re-added chunk replaces its old text", () => {
    const index = new InvertedIndex();
    index.add({ chunkId: 1, title: "", text: "old words" });
    index.add({ chunkId: 1, title: "", text: "new words" });
    assert.equal(index.search(new Map([["old", 1]]), 5).length, 0);
    assert.equal(index.search(new Map([["new", 1]]), 5)[0]?.chunkId, 1);
    assert.equal(index.size, 1);
  });
});

describe("SqliteStore with the memory keyword index", () => {
  test("follows commits, re-uploads, deletes and collection drops", async () => {
    const dir = makeTempDir();
    const open = async () => {
      const opened = new SqliteStore({
        dataDir: dir.path,
        indexSaveIntervalMs: 0,
        keywordStopWords: STOP_WORDS,
      });
      await opened.open();
      return opened;
    };
    let store = await open();
    try {
      const embedding = { provider: "local" as const, model: "test", dimensions: 8 };
      const chunking = { maxTokens: 64, overlapTokens: 8 };
      await store.createCollection({ name: "m", description: "", embedding, chunking });
      await putDocument(store, {
        collection: "m",
        id: "a",
        texts: [{ text: "flutter of the wing", axis: 0 }],
      });
      const ids = async (text: string) => {
        const hits = await store.keywordSearch({ collection: "m", text, k: 10 });
        return (await store.getChunks(hits.map((hit) => hit.chunkId))).map((c) => c.documentId);
      };
      assert.deepEqual(await ids("flutter"), ["a"]); // builds the index
      await putDocument(store, {
        collection: "m",
        id: "b",
        texts: [{ text: "wing panel", axis: 1 }],
      });
      assert.deepEqual((await ids("wing")).sort(), ["a", "b"]); // followed the commit
      await putDocument(store, {
        collection: "m",
        id: "a",
        texts: [{ text: "rotor blade", axis: 2 }],
      });
      assert.deepEqual(await ids("flutter"), []);
      assert.deepEqual(await ids("rotor"), ["a"]);
      await store.deleteDocument("m", "b");
      assert.deepEqual(await ids("wing"), []);
      // a query of stop words alone goes to FTS5, which indexes them
      assert.deepEqual(await ids("the"), []);
      const weighted = await store.weightedKeywordSearch({
        collection: "m",
        terms: new Map([["rotor", 0.5]]),
        k: 5,
      });
      assert.equal(weighted?.length, 1);
      // reopened, the index is built again from SQLite (here on the spot: a small collection)
      await store.close();
      store = await open();
      assert.deepEqual(await ids("rotor"), ["a"]);
      assert.equal(
        (
          await store.weightedKeywordSearch({
            collection: "m",
            terms: new Map([["blade", 1]]),
            k: 5,
          })
        )?.length,
        1,
      );
      await store.keywordIndexesReady();
      await store.deleteCollection("m");
      await store.createCollection({ name: "m", description: "", embedding, chunking });
      assert.deepEqual(await ids("rotor"), []);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});

runStoreContract("sqlite, memory keyword index", async () => {
  const dir = makeTempDir();
  const open = async () => {
    const opened = new SqliteStore({
      dataDir: dir.path,
      indexSaveIntervalMs: 0,
      keywordStopWords: STOP_WORDS,
    });
    await opened.open();
    return opened;
  };
  let store = await open();
  return {
    store,
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async dispose() {
      await store.close();
      dir.remove();
    },
  };
});
