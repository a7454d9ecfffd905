import { loadConfig } from "../src/config.ts";
import { embedMany } from "../src/embed/embed-many.ts";
import { EmbedderRegistry } from "../src/embed/embedder-registry.ts";
import type { Store } from "../src/store/store.ts";
import { log } from "./common.ts";
import { syntheticDocuments } from "./corpus.ts";
import type { IngestResult } from "./ingest.ts";

const CHUNKS_PER_DOCUMENT = 10;

/**
 * Fills a collection with `target` chunks of synthetic text quickly: each paragraph of the
 * synthetic corpus becomes one chunk (the bench splits instead of the token-aware chunker), the
 * local embedder embeds them through embedMany, and commitIngest stores them — the same SQLite,
 * FTS and HNSW state the ingest service produces, without its per-token chunking cost.
 */
export async function buildSearchCorpus(
  store: Store,
  collection: string,
  target: number,
): Promise<IngestResult> {
  const config = loadConfig({ GLEANER_LOG_LEVEL: "silent" });
  const record = await store.getCollection(collection);
  if (!record) throw new Error(`bench: no collection ${collection}`);
  const model = new EmbedderRegistry(config).modelFor(record.embedding);
  const stages = { parse: 0, chunk: 0, embed: 0, store: 0 };
  const started = performance.now();
  let chunks = 0;
  let documents = 0;
  let pending: string[] = [];
  const flush = async () => {
    let t = performance.now();
    const embedded = await embedMany({ model, values: pending, purpose: "document" });
    stages.embed += performance.now() - t;
    t = performance.now();
    const id = `bulk-${documents++}`;
    const payload = new TextEncoder().encode(pending.join("\n\n"));
    const { jobId } = await store.enqueueIngest({
      collection,
      documentId: id,
      title: id,
      metadata: { bulk: true },
      source: {
        filename: `${id}.txt`,
        mediaType: "text/plain",
        bytes: payload.byteLength,
        sha256: id,
      },
      payload,
    });
    await store.claimNextJob();
    let offset = 0;
    await store.commitIngest({
      jobId: jobId as number,
      collection,
      documentId: id,
      title: id,
      pageCount: null,
      tokenCount: embedded.tokens,
      embeddingTokens: embedded.tokens,
      chunks: pending.map((text, i) => {
        const charStart = offset;
        offset += text.length + 2;
        return {
          text,
          charStart,
          charEnd: charStart + text.length,
          pageStart: null,
          pageEnd: null,
          tokenCount: Math.ceil(text.length / 4),
          vector: embedded.embeddings[i] as Float32Array,
        };
      }),
    });
    stages.store += performance.now() - t;
    chunks += pending.length;
    pending = [];
    if (chunks % 10_000 === 0) log(`  search corpus: ${chunks} chunks`);
  };
  for (const doc of syntheticDocuments(Number.MAX_SAFE_INTEGER, 700, 17)) {
    for (const paragraph of doc.text.split("\n\n")) {
      pending.push(paragraph);
      if (pending.length === CHUNKS_PER_DOCUMENT) await flush();
      if (chunks >= target) break;
    }
    if (chunks >= target) break;
  }
  return {
    corpus: `synthetic search corpus, bulk (paragraph = chunk, ${target} chunks)`,
    documents,
    refused: 0,
    chunks,
    pages: 0,
    seconds: (performance.now() - started) / 1000,
    stages,
  };
}
