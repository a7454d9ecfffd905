import type pg from "pg";
import type { OpenAIObject, OpenAIObjectQuery } from "../store.ts";

interface ObjectRow {
  kind: string;
  parent: string;
  id: string;
  created_at: string;
  body: Record<string, unknown>;
}

const toObject = (row: ObjectRow): OpenAIObject => ({
  kind: row.kind,
  parent: row.parent,
  id: row.id,
  createdAt: Number(row.created_at),
  body: row.body,
});

function where(query: OpenAIObjectQuery): { sql: string; params: string[] } {
  const params = [query.kind];
  const clauses = ["kind = $1"];
  if (query.parent !== undefined) {
    params.push(query.parent);
    clauses.push(`parent = $${params.length}`);
  }
  if (query.id !== undefined) {
    params.push(query.id);
    clauses.push(`id = $${params.length}`);
  }
  return { sql: clauses.join(" AND "), params };
}

const COLUMNS = "kind, parent, id, created_at, body";

/** The openai_objects table over a pool (see Store.putOpenAIObject). */
export class PostgresOpenAIObjects {
  constructor(private readonly pool: pg.Pool) {}

  async put(object: OpenAIObject, content?: Uint8Array): Promise<void> {
    const bytes = content
      ? Buffer.from(content.buffer, content.byteOffset, content.byteLength)
      : null;
    await this.pool.query(
      `INSERT INTO openai_objects (kind, parent, id, created_at, body, content)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6)
         ON CONFLICT (kind, parent, id) DO UPDATE SET created_at = excluded.created_at,
           body = excluded.body, content = coalesce(excluded.content, openai_objects.content)`,
      [object.kind, object.parent, object.id, object.createdAt, JSON.stringify(object.body), bytes],
    );
  }

  async get(kind: string, parent: string, id: string): Promise<OpenAIObject | null> {
    const { rows } = await this.pool.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM openai_objects WHERE kind = $1 AND parent = $2 AND id = $3`,
      [kind, parent, id],
    );
    return rows[0] ? toObject(rows[0]) : null;
  }

  async content(kind: string, parent: string, id: string): Promise<Uint8Array | null> {
    const { rows } = await this.pool.query<{ content: Buffer | null }>(
      "SELECT content FROM openai_objects WHERE kind = $1 AND parent = $2 AND id = $3",
      [kind, parent, id],
    );
    const content = rows[0]?.content;
    return content ? new Uint8Array(content) : null;
  }

  async list(query: OpenAIObjectQuery): Promise<OpenAIObject[]> {
    const filter = where(query);
    const { rows } = await this.pool.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM openai_objects WHERE ${filter.sql} ORDER BY seq`,
      filter.params,
    );
    return rows.map(toObject);
  }

  async delete(query: OpenAIObjectQuery): Promise<number> {
    const filter = where(query);
    const result = await this.pool.query(
      `DELETE FROM openai_objects WHERE ${filter.sql}`,
      filter.params,
    );
    return result.rowCount ?? 0;
  }
}
