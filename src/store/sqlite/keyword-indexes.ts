import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
import {
  DEFAULT_INVERTED_INDEX,
  type IndexedChunk,
  InvertedIndex,
  type InvertedIndexOptions,
} from "../../search/inverted-index.ts";

/*
 * One in-memory keyword index per collection beside FTS5 (see `search/inverted-index.ts`).
 * SQLite stays the source of truth: a new collection starts with an empty index that follows
 * every commit and delete; an existing one is built from the chunks table when the store opens,
 * a page at a time between requests (100k chunks take ~7 s of CPU), and rebuilt the same way
 * once a tenth of it is tombstones. Until an index is ready, `ready` is null and keyword search
 * uses FTS5 — except that a small collection (a build well under a second) is built on the spot.
 * Nothing is written to disk.
 */

const PAGE = 2_000;
/** Collections up to this many chunks are built synchronously when first needed. */
const SYNC_BUILD_LIMIT = 10_000;

interface Building {
  index: InvertedIndex;
  done: Promise<void>;
}

export class KeywordIndexes {
  private readonly indexes = new Map<number, InvertedIndex>();
  private readonly building = new Map<number, Building>();

  constructor(
    private readonly db: () => Database.Database,
    private readonly options: InvertedIndexOptions = DEFAULT_INVERTED_INDEX,
  ) {}

  /** A new (empty) collection: its index is complete from the start. */
  create(collectionId: number): void {
    this.indexes.set(collectionId, new InvertedIndex(this.options));
  }

  /** The collection's index when it is complete; otherwise null (and a build is under way). */
  ready(collectionId: number, chunkCount: () => number): InvertedIndex | null {
    const existing = this.indexes.get(collectionId);
    if (existing && !existing.needsRebuild) return existing;
    if (chunkCount() <= SYNC_BUILD_LIMIT) {
      // cheaper than answering from FTS5 meanwhile; a background build of it stops
      this.building.delete(collectionId);
      const index = new InvertedIndex(this.options);
      for (const row of this.rows(collectionId, 0, Number.MAX_SAFE_INTEGER)) index.add(row);
      this.indexes.set(collectionId, index);
      return index;
    }
    this.warm(collectionId);
    return existing && existing.size > 0 ? existing : null;
  }

  /** Starts building the collection's index in the background (no-op when one is running). */
  warm(collectionId: number): Promise<void> {
    const running = this.building.get(collectionId);
    if (running) return running.done;
    const index = new InvertedIndex(this.options);
    const done = (async () => {
      let after = 0;
      for (;;) {
        await yieldToEventLoop();
        if (!this.db().open || this.building.get(collectionId)?.index !== index) return;
        const rows = this.rows(collectionId, after, PAGE);
        for (const row of rows) index.add(row);
        const last = rows.at(-1);
        if (!last || rows.length < PAGE) break;
        after = last.chunkId;
      }
      this.indexes.set(collectionId, index);
      this.building.delete(collectionId);
    })();
    this.building.set(collectionId, { index, done });
    return done;
  }

  private rows(collectionId: number, after: number, limit: number): IndexedChunk[] {
    return this.db()
      .prepare<[number, number, number], IndexedChunk>(
        `SELECT ch.id AS chunkId, coalesce(d.title, '') AS title, ch.text AS text
           FROM chunks ch JOIN documents d ON d.key = ch.document_key
          WHERE ch.collection_id = ? AND ch.id > ? ORDER BY ch.id LIMIT ?`,
      )
      .all(collectionId, after, limit);
  }

  /** After a commit or delete: complete indexes and those being built follow it. */
  apply(collectionId: number, removed: readonly number[], added: readonly IndexedChunk[]): void {
    for (const index of [this.indexes.get(collectionId), this.building.get(collectionId)?.index]) {
      if (!index) continue;
      index.remove(removed);
      // a chunk the build reads again later is simply replaced by the same text
      for (const chunk of added) index.add(chunk);
    }
  }

  drop(collectionId: number): void {
    this.indexes.delete(collectionId);
    this.building.delete(collectionId);
  }
}
