import type { Logger } from "pino";
import type { CollectionInput } from "../collection-settings.ts";
import { type EmbeddingCache, embedMany, textSha256 } from "../embed/embed-many.ts";
import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import { AppError, notFound } from "../errors.ts";
import { embeddingCostUsd } from "../pricing.ts";
import type { ChunkText, CollectionRecord, Store } from "../store/store.ts";

export interface ReindexRequest {
  collection: string;
  embedding: NonNullable<CollectionInput["embedding"]>;
  dryRun: boolean;
}

export interface ReindexOutcome {
  dryRun: boolean;
  embedding: EmbeddingConfig;
  chunks: number;
  distinctTexts: number;
  /** Distinct texts the embedding cache already holds under the new configuration. */
  cachedTexts: number;
  /** Tokens to pay (dry run) or paid (real run); cache hits excluded. */
  tokens: number;
  costUsd: number | null;
  batchCostUsd: number | null;
  tookMs: number;
  /** The collection after the swap (real runs). */
  collection: CollectionRecord | null;
}

const PAGE = 1000;
// Chunks added while re-embedding are caught up before the swap; a collection that keeps
// growing faster than that is refused rather than chased forever.
const MAX_CATCH_UPS = 5;

/**
 * Re-embeds a collection under a new embedding configuration. A dry run prices it; a real run
 * stages new vectors (and a new index) beside the live ones, then swaps them in with the
 * configuration in one transaction, so searches never see a half-built index.
 */
export class Reindexer {
  private readonly running = new Set<string>();
  private readonly cache: EmbeddingCache;

  constructor(
    private readonly deps: { store: Store; embedders: EmbedderRegistry; logger: Logger },
  ) {
    const { store } = deps;
    this.cache = {
      get: (key, hashes) => store.getCachedEmbeddings(key, hashes),
      put: (key, entries) => store.putCachedEmbeddings(key, entries),
    };
  }

  /** Prices or runs a re-index; throws not_found, invalid_request, conflict or upstream_error. */
  async reindex(request: ReindexRequest): Promise<ReindexOutcome> {
    const started = performance.now();
    const { store, embedders } = this.deps;
    if (!(await store.getCollection(request.collection))) {
      throw notFound(`Collection "${request.collection}"`, "name");
    }
    const base = embedders.defaultConfig(request.embedding.provider);
    const embedding: EmbeddingConfig = {
      provider: base.provider,
      model: request.embedding.model ?? base.model,
      dimensions: request.embedding.dimensions ?? base.dimensions,
    };
    embedders.validate(embedding);
    if (!store.listChunkTexts || !store.stageVectors || !store.swapEmbedding) {
      throw new AppError("invalid_request", "This storage backend cannot re-index collections.");
    }
    if (this.running.has(request.collection)) {
      throw new AppError(
        "conflict",
        `Collection "${request.collection}" is already being re-indexed; try again when it is done.`,
      );
    }
    this.running.add(request.collection);
    try {
      const totals = request.dryRun
        ? await this.price(request.collection, embedding)
        : await this.run(request.collection, embedding);
      const priced = embedding.provider === "openai";
      return {
        dryRun: request.dryRun,
        embedding,
        ...totals,
        costUsd: priced ? embeddingCostUsd(embedding.model, totals.tokens) : 0,
        batchCostUsd: priced
          ? embeddingCostUsd(embedding.model, totals.tokens, { batch: true })
          : 0,
        tookMs: Math.round(performance.now() - started),
        collection: request.dryRun ? null : await store.getCollection(request.collection),
      };
    } finally {
      this.running.delete(request.collection);
    }
  }

  private async price(collection: string, embedding: EmbeddingConfig) {
    const tally = new Tally(this.cache, embedding);
    for await (const page of this.pages(collection)) await tally.add(page);
    return tally.totals();
  }

  private async run(collection: string, embedding: EmbeddingConfig) {
    const { store, embedders, logger } = this.deps;
    const model = embedders.modelFor(embedding);
    const tally = new Tally(this.cache, embedding);
    let tokens = 0;
    const embedAndStage = async (page: ChunkText[]): Promise<void> => {
      await tally.add(page);
      const embedded = await embedMany({
        model,
        values: page.map((chunk) => chunk.text),
        tokenCounts: page.map((chunk) => chunk.tokenCount),
        purpose: "document",
        cache: this.cache,
      });
      tokens += embedded.tokens;
      await store.stageVectors?.(
        collection,
        embedding,
        page.map((chunk, i) => ({
          chunkId: chunk.chunkId,
          vector: embedded.embeddings[i] as Float32Array,
        })),
      );
    };
    try {
      for await (const page of this.pages(collection)) await embedAndStage(page);
      for (let round = 0; ; round++) {
        const outcome = await store.swapEmbedding?.(collection, {
          embedding,
          documentEmbeddingTokens: tally.tokensByDocument,
        });
        if (!outcome || outcome.swapped) break;
        if (round >= MAX_CATCH_UPS) {
          throw new AppError(
            "conflict",
            `Collection "${collection}" kept changing during the re-index; try again when uploads settle.`,
          );
        }
        const chunks = await store.getChunks(outcome.missingChunkIds);
        await embedAndStage(
          chunks.map((chunk) => ({
            chunkId: chunk.chunkId,
            documentId: chunk.documentId,
            text: chunk.text,
            tokenCount: chunk.tokenCount,
          })),
        );
      }
    } catch (error) {
      await store.discardStagedVectors?.(collection).catch(() => undefined);
      throw error;
    }
    logger.info({ collection, embedding, tokens }, "collection re-indexed");
    return { ...tally.totals(), tokens };
  }

  private async *pages(collection: string): AsyncGenerator<ChunkText[]> {
    let after = 0;
    for (;;) {
      const page =
        (await this.deps.store.listChunkTexts?.(collection, {
          afterChunkId: after,
          limit: PAGE,
        })) ?? [];
      if (page.length === 0) return;
      yield page;
      after = (page.at(-1) as ChunkText).chunkId;
    }
  }
}

/** Counts chunks, distinct texts, cached texts and the tokens of the rest, by document. */
class Tally {
  private readonly seen = new Set<string>();
  private chunks = 0;
  private cached = 0;
  private tokens = 0;
  readonly tokensByDocument = new Map<string, number>();

  constructor(
    private readonly cache: EmbeddingCache,
    private readonly embedding: EmbeddingConfig,
  ) {}

  async add(page: ChunkText[]): Promise<void> {
    const fresh = new Map<string, ChunkText>();
    for (const chunk of page) {
      this.chunks++;
      if (!this.tokensByDocument.has(chunk.documentId))
        this.tokensByDocument.set(chunk.documentId, 0);
      const hash = textSha256(chunk.text);
      if (this.seen.has(hash) || fresh.has(hash)) continue;
      fresh.set(hash, chunk);
    }
    const known = await this.cache.get({ ...this.embedding }, [...fresh.keys()]);
    for (const [hash, chunk] of fresh) {
      this.seen.add(hash);
      if (known.has(hash)) {
        this.cached++;
        continue;
      }
      this.tokens += chunk.tokenCount;
      const spent = this.tokensByDocument.get(chunk.documentId) ?? 0;
      this.tokensByDocument.set(chunk.documentId, spent + chunk.tokenCount);
    }
  }

  totals(): { chunks: number; distinctTexts: number; cachedTexts: number; tokens: number } {
    return {
      chunks: this.chunks,
      distinctTexts: this.seen.size,
      cachedTexts: this.cached,
      tokens: this.tokens,
    };
  }
}
