import type pg from "pg";
import type { ChunkInput, MetadataFilter, ScoredChunk } from "../store.ts";
import { normalized } from "../vector-codec.ts";
import { transaction } from "./database.ts";
import { metadataFilterToSql } from "./metadata-filter-sql.ts";
import { queryVectorExpression, vectorExpression, vectorLiteral } from "./vector-sql.ts";

/** Rows per INSERT when writing a document's chunks. */
const INSERT_BATCH = 256;

/** Replaces a document's chunks inside the caller's transaction (vectors stored unit-length). */
export async function replaceChunks(
  client: pg.PoolClient,
  input: { collectionId: number; documentKey: number; title: string | null; chunks: ChunkInput[] },
): Promise<void> {
  await client.query("DELETE FROM chunks WHERE document_key = $1", [input.documentKey]);
  for (let start = 0; start < input.chunks.length; start += INSERT_BATCH) {
    const batch = input.chunks.slice(start, start + INSERT_BATCH);
    await client.query(
      `INSERT INTO chunks (collection_id, document_key, ordinal, title, text, char_start, char_end,
           page_start, page_end, token_count, embedding)
         SELECT $1, $2, t.ordinal, $3, t.text, t.char_start, t.char_end, t.page_start, t.page_end,
             t.token_count, t.embedding::vector
           FROM unnest($4::int[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[],
                       $11::text[])
             AS t(ordinal, text, char_start, char_end, page_start, page_end, token_count, embedding)`,
      [
        input.collectionId,
        input.documentKey,
        input.title,
        batch.map((_, i) => start + i),
        batch.map((chunk) => chunk.text),
        batch.map((chunk) => chunk.charStart),
        batch.map((chunk) => chunk.charEnd),
        batch.map((chunk) => chunk.pageStart),
        batch.map((chunk) => chunk.pageEnd),
        batch.map((chunk) => chunk.tokenCount),
        batch.map((chunk) => vectorLiteral(normalized(chunk.vector))),
      ],
    );
  }
}

/**
 * Full-text ranking over the generated tsvector (title weight A, text weight B). The terms are
 * plain words (letters and digits only, from `queryTerms`), OR-ed like the SQLite backend's FTS5
 * expression, so no user text is ever read as tsquery syntax.
 */
export async function keywordHits(
  pool: pg.Pool,
  query: { collectionId: number; terms: string[]; k: number; filter: MetadataFilter | undefined },
): Promise<ScoredChunk[]> {
  const filter = metadataFilterToSql(query.filter, 4);
  const { rows } = await pool.query<{ id: number; score: number }>(
    `SELECT ch.id, ts_rank(ch.search_text, q.query, 1) AS score
       FROM chunks ch
       JOIN documents d ON d.key = ch.document_key,
       to_tsquery('english', $1) AS q(query)
       WHERE ch.search_text @@ q.query AND ch.collection_id = $2 AND ${filter.sql}
       ORDER BY score DESC, ch.id LIMIT $3`,
    [query.terms.join(" | "), query.collectionId, query.k, ...filter.params],
  );
  return rows.map((row) => ({ chunkId: row.id, score: row.score }));
}

export interface VectorSearchInput {
  collectionId: number;
  dimensions: number;
  vector: Float32Array;
  k: number;
  filter: MetadataFilter | undefined;
  efSearch: number;
  exactScanThreshold: number;
  /** A collection of at most this many chunks is scanned exactly, without the index. */
  exactCollectionChunks: number;
}

/**
 * Cosine nearest neighbours through the collection's partial HNSW index, in one transaction so
 * `SET LOCAL`-style settings (set_config(..., true)) apply to this query only. With a filter:
 * when it admits few chunks they are scanned exactly; otherwise pgvector 0.8's iterative index
 * scan (relaxed order, re-sorted here) keeps walking the graph until k rows pass the filter.
 */
export async function searchVectors(
  pool: pg.Pool,
  input: VectorSearchInput,
): Promise<ScoredChunk[]> {
  const id = Math.trunc(input.collectionId);
  const expression = vectorExpression(input.dimensions);
  const queryVector = queryVectorExpression(input.dimensions, "$1");
  const distance = `${expression} <=> ${queryVector}`;
  const literal = vectorLiteral(normalized(input.vector));
  const efSearch = String(Math.min(1000, Math.max(input.k, Math.trunc(input.efSearch), 1)));
  const filtered = input.filter !== undefined && Object.keys(input.filter).length > 0;
  return transaction(pool, async (client) => {
    await client.query("SELECT set_config('hnsw.ef_search', $1, true)", [efSearch]);
    if (!filtered) {
      // HNSW can leave near-duplicates unreachable; a small collection is scanned exactly
      const { rows: sized } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM chunks ch
           WHERE ch.collection_id = ${id} LIMIT $1) AS counted`,
        [input.exactCollectionChunks + 1],
      );
      if ((sized[0]?.n ?? 0) <= input.exactCollectionChunks) {
        const { rows } = await client.query<{ id: number; distance: number }>(
          `WITH allowed AS MATERIALIZED (SELECT ch.id, ${expression} AS embedding FROM chunks ch
             WHERE ch.collection_id = ${id})
           SELECT id, embedding <=> ${queryVector} AS distance FROM allowed
             ORDER BY distance, id LIMIT $2`,
          [literal, input.k],
        );
        return rows.map(toScored);
      }
      const { rows } = await client.query<{ id: number; distance: number }>(
        `SELECT ch.id, ${distance} AS distance FROM chunks ch
           WHERE ch.collection_id = ${id} ORDER BY ${distance} LIMIT $2`,
        [literal, input.k],
      );
      return rows.map(toScored);
    }
    const matching = (firstParam: number) => {
      const filter = metadataFilterToSql(input.filter, firstParam);
      const sql = `FROM chunks ch JOIN documents d ON d.key = ch.document_key
        WHERE ch.collection_id = ${id} AND ${filter.sql}`;
      return { sql, params: filter.params };
    };
    const counting = matching(2);
    const { rows: counted } = await client.query<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 ${counting.sql} LIMIT $1) AS allowed`,
      [Math.max(input.exactScanThreshold, input.exactCollectionChunks) + 1, ...counting.params],
    );
    const searching = matching(3);
    const exactLimit = Math.max(input.exactScanThreshold, input.exactCollectionChunks);
    if ((counted[0]?.n ?? 0) <= exactLimit) {
      // MATERIALIZED keeps the planner from using the index: an exact scan of the few allowed rows
      const { rows } = await client.query<{ id: number; distance: number }>(
        `WITH allowed AS MATERIALIZED (SELECT ch.id, ${expression} AS embedding ${searching.sql})
         SELECT id, embedding <=> ${queryVector} AS distance FROM allowed
           ORDER BY distance, id LIMIT $2`,
        [literal, input.k, ...searching.params],
      );
      return rows.map(toScored);
    }
    await client.query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)");
    const { rows } = await client.query<{ id: number; distance: number }>(
      `WITH nearest AS MATERIALIZED (
         SELECT ch.id, ${distance} AS distance ${searching.sql} ORDER BY ${distance} LIMIT $2)
       SELECT id, distance FROM nearest ORDER BY distance, id`,
      [literal, input.k, ...searching.params],
    );
    return rows.map(toScored);
  });
}

function toScored(row: { id: number; distance: number }): ScoredChunk {
  return { chunkId: row.id, score: 1 - row.distance };
}
