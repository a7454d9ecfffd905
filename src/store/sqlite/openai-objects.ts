import type Database from "better-sqlite3";
import type { OpenAIObject, OpenAIObjectQuery } from "../store.ts";

interface ObjectRow {
  kind: string;
  parent: string;
  id: string;
  created_at: number;
  body: string;
}

const toObject = (row: ObjectRow): OpenAIObject => ({
  kind: row.kind,
  parent: row.parent,
  id: row.id,
  createdAt: row.created_at,
  body: JSON.parse(row.body) as Record<string, unknown>,
});

function where(query: OpenAIObjectQuery): { sql: string; params: string[] } {
  const clauses = ["kind = ?"];
  const params = [query.kind];
  if (query.parent !== undefined) {
    clauses.push("parent = ?");
    params.push(query.parent);
  }
  if (query.id !== undefined) {
    clauses.push("id = ?");
    params.push(query.id);
  }
  return { sql: clauses.join(" AND "), params };
}

/** The openai_objects table of one SQLite database (see Store.putOpenAIObject). */
export class SqliteOpenAIObjects {
  constructor(private readonly db: Database.Database) {}

  put(object: OpenAIObject, content?: Uint8Array): void {
    const bytes = content
      ? Buffer.from(content.buffer, content.byteOffset, content.byteLength)
      : null;
    this.db
      .prepare(
        `INSERT INTO openai_objects (kind, parent, id, created_at, body, content)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (kind, parent, id) DO UPDATE SET created_at = excluded.created_at,
             body = excluded.body, content = coalesce(excluded.content, content)`,
      )
      .run(
        object.kind,
        object.parent,
        object.id,
        object.createdAt,
        JSON.stringify(object.body),
        bytes,
      );
  }

  get(kind: string, parent: string, id: string): OpenAIObject | null {
    const row = this.db
      .prepare<[string, string, string], ObjectRow>(
        "SELECT kind, parent, id, created_at, body FROM openai_objects WHERE kind = ? AND parent = ? AND id = ?",
      )
      .get(kind, parent, id);
    return row ? toObject(row) : null;
  }

  content(kind: string, parent: string, id: string): Uint8Array | null {
    const row = this.db
      .prepare<[string, string, string], { content: Buffer | null }>(
        "SELECT content FROM openai_objects WHERE kind = ? AND parent = ? AND id = ?",
      )
      .get(kind, parent, id);
    return row?.content ? new Uint8Array(row.content) : null;
  }

  list(query: OpenAIObjectQuery): OpenAIObject[] {
    const filter = where(query);
    return this.db
      .prepare<string[], ObjectRow>(
        `SELECT kind, parent, id, created_at, body FROM openai_objects WHERE ${filter.sql}
           ORDER BY seq`,
      )
      .all(...filter.params)
      .map(toObject);
  }

  delete(query: OpenAIObjectQuery): number {
    const filter = where(query);
    return this.db.prepare(`DELETE FROM openai_objects WHERE ${filter.sql}`).run(...filter.params)
      .changes;
  }
}
