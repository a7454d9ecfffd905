import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveCollectionSettings } from "../src/collection-settings.ts";
import { loadConfig } from "../src/config.ts";
import { embedMany } from "../src/embed/embed-many.ts";
import { EmbedderRegistry } from "../src/embed/embedder-registry.ts";
import { chunkText } from "../src/ingest/chunker.ts";
import { pageRange } from "../src/ingest/page-ranges.ts";
import { parseDocument } from "../src/ingest/parsers/index.ts";
import { countTokens } from "../src/ingest/tokenizer.ts";
import type { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../src/store/store.ts";
import { fmt, log, SHARED_DIR, table } from "./common.ts";

export interface StageTimes {
  parse: number;
  chunk: number;
  embed: number;
  store: number;
}

export interface IngestResult {
  corpus: string;
  documents: number;
  refused: number;
  chunks: number;
  pages: number;
  seconds: number;
  stages: StageTimes;
}

export interface SourceDocument {
  id: string;
  filename: string;
  bytes: Uint8Array;
  title?: string;
}

/** Creates a collection embedded by the built-in local model with default chunking. */
export async function createLocalCollection(store: Store, name: string): Promise<void> {
  const config = loadConfig({ GLEANER_LOG_LEVEL: "silent" });
  await store.createCollection(
    resolveCollectionSettings(
      { name, embedding: { provider: "local" } },
      new EmbedderRegistry(config),
    ),
  );
}

/**
 * Ingests documents through the same steps as IngestService.ingest (enqueue → claim → parse →
 * chunk → embedMany, with the store's cache for paid models → commitIngest), one at a time,
 * timing each stage (the service commits bulk uploads in groups; this is the single-upload path).
 * A document a parser refuses is counted and skipped, as the service would fail its job.
 */
export async function ingestStaged(
  store: SqliteStore,
  collection: string,
  corpus: string,
  documents: Iterable<SourceDocument>,
  onProgress?: (chunks: number) => void,
): Promise<IngestResult> {
  const config = loadConfig({ GLEANER_LOG_LEVEL: "silent" });
  const embedders = new EmbedderRegistry(config);
  const record = await store.getCollection(collection);
  if (!record) throw new Error(`bench: no collection ${collection}`);
  const model = embedders.modelFor(record.embedding);
  const cache = {
    get: store.getCachedEmbeddings.bind(store),
    put: store.putCachedEmbeddings.bind(store),
  };
  const stages: StageTimes = { parse: 0, chunk: 0, embed: 0, store: 0 };
  let count = 0;
  let refused = 0;
  let chunks = 0;
  let pages = 0;
  const started = performance.now();
  for (const document of documents) {
    let t = performance.now();
    const sha256 = createHash("sha256").update(document.bytes).digest("hex");
    const { jobId } = await store.enqueueIngest({
      collection,
      documentId: document.id,
      title: document.title ?? null,
      metadata: { corpus },
      source: {
        filename: document.filename,
        mediaType: "application/octet-stream",
        bytes: document.bytes.byteLength,
        sha256,
      },
      payload: document.bytes,
    });
    const job = await store.claimNextJob();
    if (!job || job.jobId !== jobId) throw new Error("bench: unexpected job queue state");
    stages.store += performance.now() - t;
    t = performance.now();
    let parsed: Awaited<ReturnType<typeof parseDocument>>["parsed"];
    try {
      ({ parsed } = await parseDocument({
        bytes: job.payload,
        filename: document.filename,
        declaredType: null,
        pdfTimeoutMs: config.pdfTimeoutMs,
      }));
    } catch (error) {
      refused++;
      log(`  refused ${document.filename}: ${(error as Error).message.slice(0, 100)}`);
      await store.failIngest({
        jobId,
        collection,
        documentId: document.id,
        error: { type: "unprocessable", message: "refused", param: null },
        discardNewDocument: true,
      });
      continue;
    }
    stages.parse += performance.now() - t;
    t = performance.now();
    const pieces = chunkText(parsed, record.chunking);
    const tokenCount = countTokens(parsed.text);
    const ranges = pieces.map((piece) => pageRange(parsed.pages, piece.charStart, piece.charEnd));
    stages.chunk += performance.now() - t;
    t = performance.now();
    const embedded = await embedMany({
      model,
      values: pieces.map((piece) => piece.text),
      tokenCounts: pieces.map((piece) => piece.tokenCount),
      purpose: "document",
      // as IngestService does: local vectors are cheaper to compute again than to look up
      cache: model.config.provider === "local" ? undefined : cache,
    });
    stages.embed += performance.now() - t;
    t = performance.now();
    await store.commitIngest({
      jobId,
      collection,
      documentId: document.id,
      title: document.title ?? parsed.title ?? document.filename,
      pageCount: parsed.pages?.length ?? null,
      tokenCount,
      embeddingTokens: embedded.tokens,
      chunks: pieces.map((piece, i) => ({
        ...piece,
        ...(ranges[i] as ReturnType<typeof pageRange>),
        vector: embedded.embeddings[i] as Float32Array,
      })),
    });
    stages.store += performance.now() - t;
    count++;
    chunks += pieces.length;
    pages += parsed.pages?.length ?? 0;
    onProgress?.(chunks);
  }
  return {
    corpus,
    documents: count,
    refused,
    chunks,
    pages,
    seconds: (performance.now() - started) / 1000,
    stages,
  };
}

/** The Cranfield abstracts as plain-text uploads (title line + text). */
export function* cranfieldDocuments(): Generator<SourceDocument> {
  const path = join(SHARED_DIR, "datasets/cranfield/docs.jsonl");
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const doc = JSON.parse(line) as { id: string; title: string; text: string };
    yield {
      id: `cran-${doc.id}`,
      filename: `cran-${doc.id}.txt`,
      title: doc.title,
      bytes: new TextEncoder().encode(doc.text),
    };
  }
}

/** The shared PDFs, in name order, at most `limit` of them. */
export function* pdfDocuments(limit: number): Generator<SourceDocument> {
  const directory = join(SHARED_DIR, "pdfs");
  if (!existsSync(directory)) return;
  const files = readdirSync(directory)
    .filter((file) => file.toLowerCase().endsWith(".pdf"))
    .sort()
    .slice(0, limit);
  for (const file of files) {
    yield { id: file, filename: file, bytes: new Uint8Array(readFileSync(join(directory, file))) };
  }
}

/** Markdown for section 3. */
export function ingestMarkdown(results: IngestResult[]): string {
  const share = (result: IngestResult, stage: keyof StageTimes) => {
    const total =
      result.stages.parse + result.stages.chunk + result.stages.embed + result.stages.store;
    return `${((result.stages[stage] / total) * 100).toFixed(0)}%`;
  };
  return table(
    [
      "corpus",
      "docs (refused)",
      "chunks",
      "pages",
      "s",
      "chunks/s",
      "pages/s",
      "parse",
      "chunk",
      "embed",
      "store",
    ],
    results.map((r) => [
      r.corpus,
      `${fmt(r.documents)} (${r.refused})`,
      fmt(r.chunks),
      r.pages ? fmt(r.pages) : "–",
      fmt(r.seconds, 1),
      fmt(r.chunks / r.seconds),
      r.pages ? fmt(r.pages / r.seconds, 1) : "–",
      share(r, "parse"),
      share(r, "chunk"),
      share(r, "embed"),
      share(r, "store"),
    ]),
  );
}
