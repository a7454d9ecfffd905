import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LocalEmbeddingModel } from "../src/embed/local-embedder.ts";
import { ExactVectors } from "../src/store/exact-vectors.ts";
import { DEFAULT_HNSW, HnswIndex } from "../src/store/hnsw/hnsw-index.ts";
import {
  type NearDuplicateRecord,
  nearDuplicateRecords,
  recallSeed,
} from "./support/near-duplicates.ts";
import { seededRandom } from "./support/seeded-random.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const SEED = recallSeed();
console.log(`vector-recall: seed ${SEED} (replay with GLEANER_RECALL_SEED=${SEED})`);

/**
 * Issue 12, part 3: 600 near-duplicate records, each queried by its own first words in vector
 * mode. Exact cosine ranks every record first, and 600 chunks are searched exactly by default,
 * so every record must come first: checked live, after a restart (index reloaded from its
 * file) and after deletes and replacements. Forced through HNSW (GLEANER_EXACT_SEARCH_BUDGET=0,
 * what a collection past the budget uses), the graph is approximate: there at least 97% of the
 * records must be in the top 10 (measured 98-99%; before the fix about 80% were, the rest not
 * even in the top 100).
 */
for (const [name, env, wanted, allowedMisses] of [
  ["exact-when-small (default settings)", {}, 1, 0],
  ["HNSW forced (GLEANER_EXACT_SEARCH_BUDGET=0)", { GLEANER_EXACT_SEARCH_BUDGET: "0" }, 10, 0.03],
] as const) {
  describe(`vector search over 600 near-duplicates: ${name}`, () => {
    let server: TestServer;
    let records = nearDuplicateRecords(600, SEED);
    before(async () => {
      server = await startTestServer({ GLEANER_API_KEYS: "", ...env });
      const created = await call(server, "POST", "/v1/collections", { name: "near" });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await upload(server, records);
    });
    after(() => server?.close());

    test("every record is found, live", async () => {
      await assertAllFound(server, records, { wanted, allowedMisses });
    });

    test("every record is found after a restart", async () => {
      await server.restart();
      await assertAllFound(server, records, { wanted, allowedMisses });
    });

    test("after deletes and replacements: replaced ones found, deleted never returned", async () => {
      const random = seededRandom(SEED ^ 0x5eed);
      const shuffled = [...records].sort(() => random() - 0.5);
      const deleted = shuffled.slice(0, 60);
      for (const record of deleted) {
        const response = await call(
          server,
          "DELETE",
          `/v1/collections/near/documents/${record.id}`,
        );
        assert.equal(response.status, 204);
      }
      // same ids, new markers: the old vectors are replaced
      const fresh = nearDuplicateRecords(60, SEED + 1, 10_000);
      const replaced = shuffled.slice(60, 120).map((record, i) => ({
        ...(fresh[i] as NearDuplicateRecord),
        id: record.id,
      }));
      await upload(server, replaced);
      const gone = new Set(deleted.map((record) => record.id));
      const replacedIds = new Set(replaced.map((record) => record.id));
      records = [
        ...records.filter((record) => !gone.has(record.id) && !replacedIds.has(record.id)),
        ...replaced,
      ];
      await assertAllFound(server, records, { wanted, allowedMisses }, gone);
    });
  });
}

/**
 * The HNSW path itself (what large collections use), on 2,000 near-duplicates plus 200 exact
 * duplicates: recall@10 against an exact scan, live, after save and reload, and after deletes
 * and replacements. Ties count: a hit scoring at least the exact 10th score is a right answer.
 */
describe("HNSW on near-duplicates: recall@10 against exact", () => {
  const RECALL_FLOOR = 0.97;
  const model = new LocalEmbeddingModel({ dimensions: 256 });
  const parameters = { ...DEFAULT_HNSW, dimensions: 256 };
  const dir = makeTempDir();
  after(() => dir.remove());
  const exact = new ExactVectors(256);
  let index: HnswIndex;
  let queries: Float32Array[] = [];
  let duplicates: [number, number][] = [];

  const embed = async (texts: string[], purpose: "document" | "query") =>
    (await model.doEmbed({ values: texts, purpose })).embeddings;

  const add = (label: number, vector: Float32Array): void => {
    index.add(label, vector);
    exact.set(label, vector);
  };

  const assertRecall = (stage: string): void => {
    let found = 0;
    let wanted = 0;
    const worst: string[] = [];
    for (const [qi, query] of queries.entries()) {
      const truth = exact.search(query, 10);
      const floor = (truth.at(-1)?.score ?? 1) - 1e-6;
      const hits = index.search(query, 10);
      const right = hits.filter((hit) => exact.has(hit.label) && hit.score >= floor).length;
      found += Math.min(right, truth.length);
      wanted += truth.length;
      if (right < truth.length && worst.length < 5)
        worst.push(`query ${qi}: ${right}/${truth.length}`);
    }
    const recall = found / wanted;
    console.log(
      `vector-recall: ${stage}: recall@10 ${recall.toFixed(4)}, orphans ${index.orphanCount}`,
    );
    assert.ok(
      recall >= RECALL_FLOOR,
      `seed ${SEED}, ${stage}: recall@10 ${recall} (${worst.join(", ")})`,
    );
    for (const [a, b] of duplicates) {
      if (!exact.has(a) || !exact.has(b)) continue;
      const labels = index.search(exact.get(a) as Float32Array, 10).map((hit) => hit.label);
      assert.ok(labels.includes(a) && labels.includes(b), `${stage}: exact duplicates ${a}, ${b}`);
    }
  };

  before(async () => {
    const records = nearDuplicateRecords(2000, SEED);
    const vectors = await embed(
      records.map((record) => record.text),
      "document",
    );
    queries = await embed(
      records.map((record) => record.query),
      "query",
    );
    index = HnswIndex.create(parameters, 256);
    // in batches, as commits add them, each batch verified like VectorIndexes.add does
    const random = seededRandom(SEED);
    for (let start = 0; start < vectors.length; start += 100) {
      const batch: number[] = [];
      for (let i = start; i < Math.min(start + 100, vectors.length); i++) {
        add(i, vectors[i] as Float32Array);
        batch.push(i);
        if (random() < 0.1) {
          const twin = 100_000 + i;
          add(twin, vectors[i] as Float32Array);
          batch.push(twin);
          duplicates.push([i, twin]);
        }
      }
      index.verify(batch);
      index.sweep(2 * batch.length);
    }
  });

  test("live", () => assertRecall("live"));

  test("after save and reload", async () => {
    const path = `${dir.path}/index.hnsw`;
    await index.save(path, 1);
    const loaded = await HnswIndex.load(path, parameters);
    assert.ok(loaded?.verified, "the sidecar lists the orphans");
    const orphans = index.orphanCount;
    index = loaded.index;
    assert.equal(index.orphanCount, orphans);
    assertRecall("reloaded");
  });

  test("after deletes and replacements", async () => {
    const random = seededRandom(SEED ^ 0xdead);
    const replacedQueries = nearDuplicateRecords(300, SEED + 7, 50_000);
    const fresh = await embed(
      replacedQueries.map((record) => record.text),
      "document",
    );
    // commits of 10 changes, each verified and swept like VectorIndexes.add does
    let changed: number[] = [];
    let removed = 0;
    const replaced = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const label = Math.floor(random() * 2000);
      if (exact.has(label)) {
        index.remove(label);
        exact.delete(label);
        removed++;
        if (i % 2 === 0) {
          add(label, fresh[i] as Float32Array);
          changed.push(label);
          replaced.add(label);
        }
      }
      if (i % 10 === 9) {
        index.verify(changed);
        index.sweep(2 * (changed.length + removed));
        changed = [];
        removed = 0;
      }
    }
    queries = [
      ...queries,
      ...(await embed(
        replacedQueries.map((record) => record.query),
        "query",
      )),
    ];
    duplicates = duplicates.filter(
      ([a, b]) => exact.has(a) && exact.has(b) && !replaced.has(a) && !replaced.has(b),
    );
    assertRecall("after deletes and replacements");
  });
});

describe("ExactVectors", () => {
  test("scans exactly, keeps slots dense across deletes, breaks ties by label", () => {
    const random = seededRandom(SEED);
    const vectors = new Map<number, Float32Array>();
    const exact = new ExactVectors(8, 4);
    for (let label = 0; label < 300; label++) {
      const vector = new Float32Array(8).map(() => random() - 0.5);
      vectors.set(label, vector);
      exact.set(label, vector);
    }
    for (let label = 0; label < 300; label += 3) {
      exact.delete(label);
      vectors.delete(label);
    }
    exact.set(7, vectors.get(7) as Float32Array);
    exact.set(1_000, vectors.get(1) as Float32Array);
    vectors.set(1_000, vectors.get(1) as Float32Array);
    assert.equal(exact.size, vectors.size);
    const query = new Float32Array(8).map(() => random() - 0.5);
    const dot = (v: Float32Array) => v.reduce((sum, x, i) => sum + x * (query[i] as number), 0);
    const expected = [...vectors]
      .map(([label, v]) => ({ label, score: dot(v) }))
      .sort((a, b) => b.score - a.score || a.label - b.label)
      .slice(0, 10)
      .map((hit) => hit.label);
    assert.deepEqual(
      exact.search(query, 10).map((hit) => hit.label),
      expected,
    );
    const among = [2, 4, 5, 1_000, 3, 99_999];
    const best = exact.searchAmong(query, 2, among).map((hit) => hit.label);
    const wanted = among
      .filter((label) => vectors.has(label))
      .sort(
        (a, b) =>
          dot(vectors.get(b) as Float32Array) - dot(vectors.get(a) as Float32Array) || a - b,
      )
      .slice(0, 2);
    assert.deepEqual(best, wanted);
  });
});

async function upload(server: TestServer, records: NearDuplicateRecord[]): Promise<void> {
  const response = await call(server, "POST", "/v1/collections/near/documents", {
    documents: records.map(({ id, text }) => ({ id, text })),
  });
  assert.equal(response.status, 201, JSON.stringify(response.body).slice(0, 500));
}

async function assertAllFound(
  server: TestServer,
  records: NearDuplicateRecord[],
  { wanted, allowedMisses }: { wanted: number; allowedMisses: number },
  gone: ReadonlySet<string> = new Set(),
): Promise<void> {
  const missed: string[] = [];
  // a few requests in flight at once: the suite stays within seconds
  const queue = [...records];
  const worker = async (): Promise<void> => {
    for (let record = queue.shift(); record; record = queue.shift()) {
      await checkFirst(record);
    }
  };
  const checkFirst = async (record: NearDuplicateRecord): Promise<void> => {
    const response = await call(server, "POST", "/v1/collections/near/search", {
      query: record.query,
      mode: "vector",
      k: 10,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const ids: string[] = response.body.data.map((hit: { document_id: string }) => hit.document_id);
    const returnedGone = ids.filter((id) => gone.has(id));
    assert.deepEqual(returnedGone, [], `deleted documents returned for "${record.query}"`);
    const rank = ids.indexOf(record.id) + 1;
    if (rank === 0 || rank > wanted) {
      missed.push(`${record.id} ("${record.query}") → rank ${rank || ">10"}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  console.log(
    `vector-recall: ${records.length - missed.length} of ${records.length} in the top ${wanted}`,
  );
  assert.ok(
    missed.length <= Math.floor(allowedMisses * records.length),
    `seed ${SEED}: ${missed.length} of ${records.length} not in the top ${wanted}: ${missed.join("; ")}`,
  );
}
