import { join } from "node:path";
import type Database from "better-sqlite3";
import { ExactVectors } from "../exact-vectors.ts";
import {
  DEFAULT_HNSW,
  HnswIndex,
  type HnswParameters,
  removeIndexFiles,
} from "../hnsw/hnsw-index.ts";
import type { ScoredChunk } from "../store.ts";
import { blobToVector, dot, normalized } from "../vector-codec.ts";

interface LoadedIndex {
  index: HnswIndex;
  path: string;
  dirty: boolean;
  saving: Promise<void> | null;
  /** The collection's vectors in memory while it is small enough to search exactly. */
  exact: ExactVectors | null;
  /** Points removed since the last sweep. */
  removedSinceSweep: number;
}

/** Default for `exactSearchBudget`: 20k chunks of 256 dimensions (a few ms a query, 20 MB). */
export const DEFAULT_EXACT_SEARCH_BUDGET = 5_120_000;

/** Exact vectors held in memory across collections, in budgets (4 × 20 MB by default). */
const EXACT_MEMORY_BUDGETS = 4;

/** Each change also re-checks this many older points (see HnswIndex.sweep). */
const SWEEP_PER_CHANGE = 2;

export interface IndexLoadReport {
  collectionId: number;
  outcome: "loaded" | "reconciled" | "rebuilt";
  vectors: number;
  milliseconds: number;
}

/**
 * The HNSW graphs of all collections, kept in step with SQLite: loaded at start-up and checked
 * against the chunks table, rebuilt from stored vectors when missing or corrupt, saved in the
 * background and on close.
 */
export class VectorIndexes {
  private readonly indexes = new Map<number, LoadedIndex>();
  /** Indexes replaced by a re-index, kept briefly for queries embedded just before the swap. */
  private readonly retired = new Map<number, { index: HnswIndex; until: number }>();
  readonly loadReports: IndexLoadReport[] = [];
  /** Collections holding exact vectors, least recently searched first. */
  private readonly exactRecency = new Set<number>();

  /**
   * `exactSearchBudget`: a collection whose chunks × dimensions is at most this is searched by
   * an exact scan of its vectors, kept in memory, instead of the graph (0: always the graph).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly directory: string,
    private readonly hnsw: Omit<HnswParameters, "dimensions"> = DEFAULT_HNSW,
    private readonly exactSearchBudget = DEFAULT_EXACT_SEARCH_BUDGET,
  ) {}

  /** Loads, reconciles or rebuilds the index of one collection. */
  async open(collectionId: number, dimensions: number, generation: number): Promise<void> {
    const started = performance.now();
    const path = this.pathOf(collectionId);
    const parameters = { ...this.hnsw, dimensions };
    const loaded = await HnswIndex.load(path, parameters);
    let verified = loaded?.verified ?? false;
    let outcome: IndexLoadReport["outcome"];
    let index: HnswIndex;
    const liveCount = this.chunkCount(collectionId);
    if (loaded && loaded.generation === generation) {
      index = loaded.index;
      index.setLiveCount(liveCount);
      outcome = "loaded";
    } else if (loaded) {
      index = loaded.index;
      this.reconcile(collectionId, index);
      index.setLiveCount(liveCount);
      outcome = "reconciled";
    } else {
      index = HnswIndex.create(parameters, liveCount + 1024);
      for (const row of this.vectorRows(collectionId)) {
        index.add(row.id, blobToVector(row.vector));
      }
      outcome = "rebuilt";
      verified = false;
    }
    if (outcome === "reconciled" || !verified) index.verifyAll();
    const entry: LoadedIndex = {
      index,
      path,
      dirty: outcome !== "loaded" || !verified,
      saving: null,
      exact: null,
      removedSinceSweep: 0,
    };
    this.indexes.set(collectionId, entry);
    if (entry.dirty) await this.save(collectionId, generation);
    this.loadReports.push({
      collectionId,
      outcome,
      vectors: liveCount,
      milliseconds: Math.round(performance.now() - started),
    });
  }

  /** An empty index for a new collection. */
  create(collectionId: number, dimensions: number): void {
    removeIndexFiles(this.pathOf(collectionId));
    const index = HnswIndex.create({ ...this.hnsw, dimensions });
    this.indexes.set(collectionId, {
      index,
      path: this.pathOf(collectionId),
      dirty: true,
      saving: null,
      exact: null,
      removedSinceSweep: 0,
    });
  }

  /** An index that belongs to no collection yet (a re-index builds one beside the live one). */
  createDetached(dimensions: number, capacity: number): HnswIndex {
    return HnswIndex.create({ ...this.hnsw, dimensions }, capacity);
  }

  /**
   * Makes `index` the collection's live index at once. The old one keeps answering queries of
   * its own (different) dimensions for `graceMs`: a search that embedded its query with the old
   * configuration just before the swap still succeeds. Labels are chunk ids, so its hits are
   * real chunks.
   */
  replace(collectionId: number, index: HnswIndex, graceMs = 60_000): void {
    const old = this.indexes.get(collectionId);
    if (old && old.index.parameters.dimensions !== index.parameters.dimensions) {
      const retired = { index: old.index, until: Date.now() + graceMs };
      this.retired.set(collectionId, retired);
      // let the old graph's memory go once nobody can still be searching it
      setTimeout(() => {
        if (this.retired.get(collectionId) === retired) this.retired.delete(collectionId);
      }, graceMs).unref();
    } else this.retired.delete(collectionId);
    index.verifyAll();
    this.indexes.set(collectionId, {
      index,
      path: this.pathOf(collectionId),
      dirty: true,
      saving: old?.saving ?? null,
      exact: null,
      removedSinceSweep: 0,
    });
  }

  /** Whether a query of `dimensions` can still be answered by a just-replaced index. */
  hasRetired(collectionId: number, dimensions: number): boolean {
    return this.retiredFor(collectionId, dimensions) !== null;
  }

  private retiredFor(collectionId: number, dimensions: number): HnswIndex | null {
    const retired = this.retired.get(collectionId);
    if (!retired) return null;
    if (retired.until < Date.now()) {
      this.retired.delete(collectionId);
      return null;
    }
    return retired.index.parameters.dimensions === dimensions ? retired.index : null;
  }

  drop(collectionId: number): void {
    this.exactRecency.delete(collectionId);
    this.retired.delete(collectionId);
    this.indexes.delete(collectionId);
    removeIndexFiles(this.pathOf(collectionId));
  }

  add(collectionId: number, entries: { id: number; vector: Float32Array }[]): void {
    const entry = this.require(collectionId);
    if (entries.length === 0) return;
    for (const { id, vector } of entries) {
      const unit = normalized(vector);
      entry.index.add(id, unit);
      entry.exact?.set(id, unit);
    }
    entry.index.verify(entries.map((added) => added.id));
    // a new point can take a deleted one's slot and links: re-check for removals as well
    entry.index.sweep(SWEEP_PER_CHANGE * (entries.length + entry.removedSinceSweep));
    entry.removedSinceSweep = 0;
    if (entry.exact && !this.exactAffordable(entry.exact.size, entry.exact.dimensions)) {
      entry.exact = null;
    }
    entry.dirty = true;
  }

  remove(collectionId: number, ids: number[]): void {
    const entry = this.indexes.get(collectionId);
    if (!entry) return;
    for (const id of ids) {
      entry.index.remove(id);
      entry.exact?.delete(id);
    }
    entry.removedSinceSweep += ids.length;
    entry.dirty = entry.dirty || ids.length > 0;
  }

  /**
   * Nearest chunks: exact while the collection is within the exact-search budget, otherwise
   * through the graph (which keeps its unreachable points in an exact side list);
   * `allowed` restricts the results to those chunk ids.
   */
  search(
    collectionId: number,
    vector: Float32Array,
    k: number,
    options: { ef?: number | undefined; allowed?: ReadonlySet<number> | undefined },
  ): ScoredChunk[] {
    const entry = this.indexes.get(collectionId);
    if (!entry) return [];
    const allowed = options.allowed;
    const query = normalized(vector);
    const exact = this.exactVectors(collectionId, vector.length);
    if (exact) {
      const found = allowed ? exact.searchAmong(query, k, allowed) : exact.search(query, k);
      return found.map(({ label, score }) => ({ chunkId: label, score }));
    }
    const filter = allowed ? (label: number) => allowed.has(label) : undefined;
    const index =
      entry.index.parameters.dimensions === vector.length
        ? entry.index
        : (this.retiredFor(collectionId, vector.length) ?? entry.index);
    return index
      .search(query, k, { ef: options.ef, filter })
      .map(({ label, score }) => ({ chunkId: label, score }));
  }

  /** Whether `search` will scan this collection exactly (its vectors fit the budget). */
  searchesExactly(collectionId: number, dimensions: number): boolean {
    return this.exactVectors(collectionId, dimensions) !== null;
  }

  /**
   * The collection's vectors in memory when chunks × dimensions fits the budget: read from
   * SQLite in one pass on first use, then kept in step by `add` and `remove`.
   */
  private exactVectors(collectionId: number, dimensions: number): ExactVectors | null {
    const entry = this.indexes.get(collectionId);
    if (!entry || entry.index.parameters.dimensions !== dimensions) return null;
    if (entry.exact) {
      this.exactRecency.delete(collectionId);
      this.exactRecency.add(collectionId);
      return entry.exact;
    }
    if (!this.exactAffordable(entry.index.size, dimensions)) return null;
    const exact = new ExactVectors(dimensions, entry.index.size + 16);
    for (const row of this.vectorRows(collectionId)) {
      exact.set(row.id, normalized(blobToVector(row.vector)));
    }
    entry.exact = exact;
    this.exactRecency.add(collectionId);
    this.evictExactVectors(collectionId);
    return exact;
  }

  /**
   * Many small collections could each hold a budget's worth of vectors: past
   * EXACT_MEMORY_BUDGETS budgets in all, the least recently searched ones let theirs go (and
   * read them again when next searched).
   */
  private evictExactVectors(keep: number): void {
    let held = 0;
    for (const id of this.exactRecency) {
      const exact = this.indexes.get(id)?.exact;
      if (exact) held += exact.size * exact.dimensions;
      else this.exactRecency.delete(id);
    }
    for (const id of this.exactRecency) {
      if (held <= EXACT_MEMORY_BUDGETS * this.exactSearchBudget || id === keep) break;
      const entry = this.indexes.get(id);
      if (entry?.exact) {
        held -= entry.exact.size * entry.exact.dimensions;
        entry.exact = null;
      }
      this.exactRecency.delete(id);
    }
  }

  private exactAffordable(chunks: number, dimensions: number): boolean {
    return chunks * dimensions <= this.exactSearchBudget;
  }

  /** Exact nearest chunks among the given ids (for filters that leave few candidates). */
  exactSearch(vector: Float32Array, k: number, ids: number[]): ScoredChunk[] {
    const query = normalized(vector);
    const statement = this.db.prepare<[string], { id: number; vector: Buffer }>(
      "SELECT id, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
    );
    const scored = statement
      .all(JSON.stringify(ids))
      .map((row) => ({ chunkId: row.id, score: dot(query, normalized(blobToVector(row.vector))) }));
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, k);
  }

  /** Writes every index changed since its last save. */
  async flush(generationOf: (collectionId: number) => number | null): Promise<void> {
    for (const [collectionId, entry] of this.indexes) {
      if (!entry.dirty) continue;
      const generation = generationOf(collectionId);
      if (generation !== null) await this.save(collectionId, generation);
    }
  }

  private async save(collectionId: number, generation: number): Promise<void> {
    const entry = this.indexes.get(collectionId);
    if (!entry) return;
    if (entry.saving) await entry.saving;
    entry.dirty = false;
    entry.saving = entry.index.save(entry.path, generation).finally(() => {
      entry.saving = null;
    });
    await entry.saving;
  }

  private reconcile(collectionId: number, index: HnswIndex): void {
    const inSqlite = new Set(
      this.db
        .prepare<[number], number>("SELECT id FROM chunks WHERE collection_id = ?")
        .pluck()
        .all(collectionId),
    );
    const inGraph = new Set(index.storedLabels());
    for (const label of inGraph) if (!inSqlite.has(label)) index.remove(label);
    const missing = [...inSqlite].filter((id) => !inGraph.has(id));
    const statement = this.db.prepare<[string], { id: number; vector: Buffer }>(
      "SELECT id, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
    );
    for (let offset = 0; offset < missing.length; offset += 1000) {
      const batch = missing.slice(offset, offset + 1000);
      for (const row of statement.all(JSON.stringify(batch))) {
        index.add(row.id, normalized(blobToVector(row.vector)));
      }
    }
  }

  private chunkCount(collectionId: number): number {
    return this.db
      .prepare<[number], number>("SELECT count(*) FROM chunks WHERE collection_id = ?")
      .pluck()
      .get(collectionId) as number;
  }

  private vectorRows(collectionId: number): IterableIterator<{ id: number; vector: Buffer }> {
    return this.db
      .prepare<[number], { id: number; vector: Buffer }>(
        "SELECT id, vector FROM chunks WHERE collection_id = ? ORDER BY id",
      )
      .iterate(collectionId);
  }

  private require(collectionId: number): LoadedIndex {
    const entry = this.indexes.get(collectionId);
    if (!entry) throw new Error(`No vector index is open for collection ${collectionId}.`);
    return entry;
  }

  private pathOf(collectionId: number): string {
    return join(this.directory, `collection-${collectionId}.hnsw`);
  }
}
