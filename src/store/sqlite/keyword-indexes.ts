import type Database from "better-sqlite3";
import {
  DEFAULT_INVERTED_INDEX,
  type IndexedChunk,
  InvertedIndex,
  type InvertedIndexOptions,
} from "../../search/inverted-index.ts";

/*
 * One in-memory keyword index per collection beside FTS5 (see `search/inverted-index.ts`).
 * SQLite stays the source of truth: an index is built from the chunks table the first time a
 * collection is searched, then follows every commit and delete; it is rebuilt from SQLite
 * when a tenth of it is tombstones. Nothing is written to disk.
 */
export class KeywordIndexes {
  private readonly indexes = new Map<number, InvertedIndex>();

  constructor(
    private readonly db: () => Database.Database,
    private readonly options: InvertedIndexOptions = DEFAULT_INVERTED_INDEX,
  ) {}

  /** The collection's index, built from SQLite on first use (or when it has decayed). */
  get(collectionId: number): InvertedIndex {
    const existing = this.indexes.get(collectionId);
    if (existing && !existing.needsRebuild) return existing;
    const index = new InvertedIndex(this.options);
    const rows = this.db()
      .prepare<[number], IndexedChunk>(
        `SELECT ch.id AS chunkId, coalesce(d.title, '') AS title, ch.text AS text
           FROM chunks ch JOIN documents d ON d.key = ch.document_key
          WHERE ch.collection_id = ? ORDER BY ch.id`,
      )
      .iterate(collectionId);
    for (const row of rows) index.add(row);
    this.indexes.set(collectionId, index);
    return index;
  }

  /** After a commit: only indexes already built follow (the others build when first used). */
  apply(collectionId: number, removed: readonly number[], added: readonly IndexedChunk[]): void {
    const index = this.indexes.get(collectionId);
    if (!index) return;
    index.remove(removed);
    for (const chunk of added) index.add(chunk);
  }

  drop(collectionId: number): void {
    this.indexes.delete(collectionId);
  }
}
