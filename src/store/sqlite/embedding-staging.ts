import type Database from "better-sqlite3";
import type { EmbeddingConfig } from "../../embed/embedding-model.ts";
import { AppError } from "../../errors.ts";
import type { HnswIndex } from "../hnsw/hnsw-index.ts";
import type { ChunkText, SwapOutcome } from "../store.ts";
import { normalized, vectorToBlob } from "../vector-codec.ts";
import type { VectorIndexes } from "./vector-indexes.ts";

interface Staging {
  embedding: EmbeddingConfig;
  /** Built as vectors are staged, so the swap itself only flips a pointer. */
  index: HnswIndex;
}

// A swap that finds this many unstaged chunks names only these; the caller stages and retries.
const MAX_MISSING_LISTED = 10_000;

/**
 * The SQLite side of re-indexing: vectors staged in `staged_vectors` (rows vanish with their
 * chunks), a new HNSW graph built beside the live one, and a swap in one transaction. Staging
 * lives for one process: a re-index interrupted by a restart starts over.
 */
export class EmbeddingStaging {
  private readonly stagings = new Map<number, Staging>();

  constructor(
    private readonly db: Database.Database,
    private readonly vectors: VectorIndexes,
  ) {
    db.exec("DELETE FROM staged_vectors");
  }

  listChunkTexts(collectionId: number, afterChunkId: number, limit: number): ChunkText[] {
    return this.db
      .prepare<
        [number, number, number],
        { id: number; external_id: string; text: string; token_count: number }
      >(
        `SELECT ch.id, d.external_id, ch.text, ch.token_count FROM chunks ch
           JOIN documents d ON d.key = ch.document_key
           WHERE ch.collection_id = ? AND ch.id > ? ORDER BY ch.id LIMIT ?`,
      )
      .all(collectionId, afterChunkId, limit)
      .map((row) => ({
        chunkId: row.id,
        documentId: row.external_id,
        text: row.text,
        tokenCount: row.token_count,
      }));
  }

  stage(
    collectionId: number,
    embedding: EmbeddingConfig,
    entries: { chunkId: number; vector: Float32Array }[],
  ): void {
    let staging = this.stagings.get(collectionId);
    if (!staging || !sameEmbedding(staging.embedding, embedding)) {
      this.discard(collectionId);
      const capacity = this.chunkCount(collectionId) + 1024;
      staging = { embedding, index: this.vectors.createDetached(embedding.dimensions, capacity) };
      this.stagings.set(collectionId, staging);
    }
    for (const entry of entries) {
      if (entry.vector.length !== embedding.dimensions) {
        throw new AppError(
          "internal",
          `A staged vector has ${entry.vector.length} dimensions; ${embedding.dimensions} were asked for.`,
        );
      }
    }
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO staged_vectors (chunk_id, collection_id, vector)
         SELECT id, collection_id, ? FROM chunks WHERE id = ? AND collection_id = ?`,
    );
    const added: { chunkId: number; vector: Float32Array }[] = [];
    this.db.transaction(() => {
      for (const entry of entries) {
        const vector = normalized(entry.vector);
        if (insert.run(vectorToBlob(vector), entry.chunkId, collectionId).changes > 0) {
          added.push({ chunkId: entry.chunkId, vector });
        }
      }
    })();
    for (const { chunkId, vector } of added) staging.index.add(chunkId, vector);
  }

  /** The swap; `afterSwap` runs inside the transaction (documents' tokens, generation). */
  swap(collectionId: number, embedding: EmbeddingConfig, afterSwap: () => void): SwapOutcome {
    const staging = this.stagings.get(collectionId);
    if (!staging || !sameEmbedding(staging.embedding, embedding)) {
      throw new AppError("conflict", "No vectors are staged for this embedding configuration.");
    }
    const outcome = this.db.transaction((): SwapOutcome & { live?: number[] } => {
      const missingChunkIds = this.db
        .prepare<[number, number], number>(
          `SELECT id FROM chunks WHERE collection_id = ?
             AND id NOT IN (SELECT chunk_id FROM staged_vectors WHERE collection_id = ?)
             ORDER BY id LIMIT ${MAX_MISSING_LISTED}`,
        )
        .pluck()
        .all(collectionId, collectionId);
      if (missingChunkIds.length > 0) return { swapped: false, missingChunkIds };
      this.db
        .prepare(
          `UPDATE chunks SET vector = (SELECT s.vector FROM staged_vectors s WHERE s.chunk_id = chunks.id)
             WHERE collection_id = ?`,
        )
        .run(collectionId);
      this.db
        .prepare(
          `UPDATE collections SET embedding_provider = ?, embedding_model = ?, embedding_dimensions = ?
             WHERE id = ?`,
        )
        .run(embedding.provider, embedding.model, embedding.dimensions, collectionId);
      this.db.prepare("DELETE FROM staged_vectors WHERE collection_id = ?").run(collectionId);
      afterSwap();
      const live = this.db
        .prepare<[number], number>("SELECT id FROM chunks WHERE collection_id = ?")
        .pluck()
        .all(collectionId);
      return { swapped: true, live };
    })();
    if (!outcome.swapped) return outcome;
    const live = new Set(outcome.live);
    for (const label of staging.index.storedLabels()) {
      if (!live.has(label)) staging.index.remove(label);
    }
    staging.index.setLiveCount(live.size);
    this.stagings.delete(collectionId);
    this.vectors.replace(collectionId, staging.index);
    return { swapped: true };
  }

  discard(collectionId: number): void {
    this.stagings.delete(collectionId);
    this.db.prepare("DELETE FROM staged_vectors WHERE collection_id = ?").run(collectionId);
  }

  private chunkCount(collectionId: number): number {
    return this.db
      .prepare<[number], number>("SELECT count(*) FROM chunks WHERE collection_id = ?")
      .pluck()
      .get(collectionId) as number;
  }
}

function sameEmbedding(a: EmbeddingConfig, b: EmbeddingConfig): boolean {
  return a.provider === b.provider && a.model === b.model && a.dimensions === b.dimensions;
}
