import pgvector from "pgvector";

/** pgvector's HNSW limits: `vector` indexes up to 2,000 dimensions, `halfvec` up to 4,000. */
const VECTOR_INDEX_MAX = 2_000;
const HALFVEC_INDEX_MAX = 4_000;

export interface HnswBuildParameters {
  m: number;
  efConstruction: number;
}

/**
 * The typed expression a collection's vectors are indexed and searched by. All collections share
 * one untyped `vector` column; each gets a partial expression index over its own rows, so the
 * query must repeat exactly this expression for the planner to use the index.
 */
export function vectorExpression(dimensions: number, column = "ch.embedding"): string {
  const d = Math.trunc(dimensions);
  if (d <= VECTOR_INDEX_MAX) return `(${column}::vector(${d}))`;
  if (d <= HALFVEC_INDEX_MAX) return `(${column}::halfvec(${d}))`;
  return `(${column}::vector(${d}))`;
}

/** The same cast for a query parameter, so both sides of `<=>` have one type. */
export function queryVectorExpression(dimensions: number, param: string): string {
  const d = Math.trunc(dimensions);
  if (d > VECTOR_INDEX_MAX && d <= HALFVEC_INDEX_MAX) return `${param}::halfvec(${d})`;
  return `${param}::vector(${d})`;
}

export function indexName(collectionId: number): string {
  return `chunks_embedding_c${Math.trunc(collectionId)}`;
}

/**
 * DDL for a collection's HNSW index (cosine distance), partial on its id; null when the dimension
 * is beyond what pgvector can index (searches then scan exactly).
 */
export function createIndexSql(
  collectionId: number,
  dimensions: number,
  hnsw: HnswBuildParameters,
): string | null {
  const d = Math.trunc(dimensions);
  if (d > HALFVEC_INDEX_MAX) return null;
  const ops = d <= VECTOR_INDEX_MAX ? "vector_cosine_ops" : "halfvec_cosine_ops";
  const id = Math.trunc(collectionId);
  return `CREATE INDEX IF NOT EXISTS ${indexName(id)} ON chunks USING hnsw (${vectorExpression(d, "embedding")} ${ops})
    WITH (m = ${Math.trunc(hnsw.m)}, ef_construction = ${Math.trunc(hnsw.efConstruction)})
    WHERE collection_id = ${id}`;
}

/** A Float32Array in pgvector's text form. */
export function vectorLiteral(vector: Float32Array): string {
  return pgvector.toSql(Array.from(vector)) as string;
}

/** pgvector's text form back to a Float32Array. */
export function parseVectorLiteral(text: string): Float32Array {
  return Float32Array.from(pgvector.fromSql(text) as number[]);
}
