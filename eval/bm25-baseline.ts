import Database from "better-sqlite3";
import type { EvalDocument } from "./dataset.ts";

/*
 * The reference rows: plain SQLite FTS5 BM25 (porter unicode61, default k1/b, title and text
 * weighted alike), the query's words OR-ed; optionally minus a stop-word list. An independent in-memory database, so the row
 * stays the same whatever Gleaner's own keyword search becomes.
 */
export class Bm25Baseline {
  private readonly db = new Database(":memory:");
  private readonly query: Database.Statement<[string, number], { id: string }>;

  /** `stopWords`: query words left out (all kept when nothing else is left). */
  constructor(
    documents: readonly EvalDocument[],
    private readonly stopWords?: ReadonlySet<string>,
  ) {
    this.db.exec(
      "CREATE VIRTUAL TABLE docs USING fts5 (id UNINDEXED, title, text, tokenize = 'porter unicode61')",
    );
    const insert = this.db.prepare("INSERT INTO docs (id, title, text) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const document of documents) insert.run(document.id, document.title, document.text);
    })();
    this.query = this.db.prepare(
      "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
    );
  }

  /** Document ids best first; empty when the query has no word. */
  search(text: string, k: number): string[] {
    const all = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
    const kept = this.stopWords ? all.filter((word) => !this.stopWords?.has(word)) : all;
    const words = kept.length > 0 ? kept : all;
    if (words.length === 0) return [];
    const match = words.map((word) => `"${word}"`).join(" OR ");
    return this.query.all(match, k).map((row) => row.id);
  }

  close(): void {
    this.db.close();
  }
}
