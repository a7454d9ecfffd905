import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { type EmbeddingCache, embedMany } from "../embed/embed-many.ts";
import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import { AppError, type ErrorBody, toAppError } from "../errors.ts";
import type { DocumentRecord, IngestJob, Metadata, Store } from "../store/store.ts";
import { chunkText } from "./chunker.ts";
import { pageRange } from "./page-ranges.ts";
import { detectMediaType } from "./parsers/detect-type.ts";
import { parseDocument } from "./parsers/index.ts";
import { countTokens } from "./tokenizer.ts";

export interface Upload {
  collection: string;
  /** The client's id; one is made from the content when absent. */
  documentId?: string | undefined;
  title?: string | undefined;
  metadata?: Metadata | undefined;
  filename: string | null;
  declaredType: string | null;
  bytes: Uint8Array;
}

export interface JobOutcome {
  /** The document after the job; null if it was deleted meanwhile. */
  document: DocumentRecord | null;
  /** Why the job failed; null when it succeeded or was superseded by a newer upload. */
  error: ErrorBody | null;
}

export interface SubmitOutcome {
  document: DocumentRecord;
  /** False when the upload was a no-op (same id, same content). */
  queued: boolean;
  jobId: number | null;
}

export interface IngestServiceOptions {
  store: Store;
  embedders: EmbedderRegistry;
  logger: Logger;
  concurrency: number;
  pdfTimeoutMs: number;
}

/**
 * Turns uploads into searchable chunks through a durable queue: an upload is recorded with its
 * bytes, then parsed, chunked, embedded and committed in one transaction by a background worker.
 */
export class IngestService {
  private readonly waiters = new Map<number, ((outcome: JobOutcome) => void)[]>();
  private readonly running = new Set<Promise<void>>();
  /** Jobs whose caller waits and wants a failed new document gone (a failed request changes nothing). */
  private readonly discardOnFailure = new Set<number>();
  private stopped = true;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly cache: EmbeddingCache;

  constructor(private readonly options: IngestServiceOptions) {
    const { store } = options;
    this.cache = {
      get: (key, hashes) => store.getCachedEmbeddings(key, hashes),
      put: (key, entries) => store.putCachedEmbeddings(key, entries),
    };
  }

  /** Requeues work interrupted by a previous crash and starts processing the queue. */
  async start(): Promise<void> {
    const requeued = await this.options.store.requeueInterruptedJobs();
    if (requeued > 0) this.options.logger.info({ requeued }, "requeued interrupted ingest jobs");
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops taking jobs and waits for the ones in progress; queued jobs stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.running);
  }

  /** Records an upload (type checked now, content processed by the queue). */
  async submit(
    upload: Upload,
    options: { discardOnFailure?: boolean } = {},
  ): Promise<SubmitOutcome> {
    const mediaType = await detectMediaType({
      bytes: upload.bytes,
      filename: upload.filename,
      declaredType: upload.declaredType,
    });
    const sha256 = createHash("sha256").update(upload.bytes).digest("hex");
    const outcome = await this.options.store.enqueueIngest({
      collection: upload.collection,
      documentId: upload.documentId ?? sha256.slice(0, 32),
      title: upload.title ?? null,
      metadata: upload.metadata ?? {},
      source: { filename: upload.filename, mediaType, bytes: upload.bytes.byteLength, sha256 },
      payload: upload.bytes,
    });
    if (outcome.jobId !== null && options.discardOnFailure)
      this.discardOnFailure.add(outcome.jobId);
    if (outcome.jobId !== null) this.wake?.();
    return { document: outcome.document, queued: outcome.jobId !== null, jobId: outcome.jobId };
  }

  /** Resolves when the job has been committed or has failed (with the document as it then is). */
  waitFor(jobId: number): Promise<JobOutcome> {
    return new Promise((resolve) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push(resolve);
      this.waiters.set(jobId, list);
    });
  }

  /** How many jobs are queued or running. */
  queueDepth(): Promise<number> {
    return this.options.store.countQueuedJobs();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.running.size >= this.options.concurrency) {
        await Promise.race(this.running);
        continue;
      }
      const job = await this.options.store.claimNextJob();
      if (!job) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
        this.wake = null;
        continue;
      }
      const task = this.process(job).finally(() => this.running.delete(task));
      this.running.add(task);
    }
  }

  private async process(job: IngestJob): Promise<void> {
    const { store, logger } = this.options;
    const started = performance.now();
    let document: DocumentRecord | null = null;
    let failure: ErrorBody | null = null;
    try {
      document = await this.ingest(job);
      logger.info(
        {
          collection: job.collection,
          document_id: job.documentId,
          chunks: document?.chunkCount,
          ms: Math.round(performance.now() - started),
        },
        "document ingested",
      );
    } catch (error) {
      const appError = toAppError(error);
      failure = appError.toBody();
      if (appError.type === "internal") logger.error({ err: error }, "ingest failed unexpectedly");
      document = await store
        .failIngest({
          jobId: job.jobId,
          collection: job.collection,
          documentId: job.documentId,
          error: appError.toBody(),
          discardNewDocument: this.discardOnFailure.has(job.jobId),
        })
        .catch(() => null);
      if (document === null) document = failedPlaceholder(job, appError.toBody());
    } finally {
      this.discardOnFailure.delete(job.jobId);
      const waiting = this.waiters.get(job.jobId) ?? [];
      this.waiters.delete(job.jobId);
      for (const resolve of waiting) resolve({ document, error: failure });
    }
  }

  private async ingest(job: IngestJob): Promise<DocumentRecord | null> {
    const { store, embedders } = this.options;
    const collection = await store.getCollection(job.collection);
    if (!collection) throw new AppError("not_found", `Collection "${job.collection}" was deleted.`);
    const { parsed } = await parseDocument({
      bytes: job.payload,
      filename: job.source.filename,
      declaredType: job.source.mediaType,
      pdfTimeoutMs: this.options.pdfTimeoutMs,
    });
    const pieces = chunkText(parsed, collection.chunking);
    if (pieces.length === 0) {
      throw new AppError("unprocessable", "The document contains no text to index.", {
        param: "file",
      });
    }
    const embedded = await embedMany({
      model: embedders.modelFor(collection.embedding),
      values: pieces.map((piece) => piece.text),
      tokenCounts: pieces.map((piece) => piece.tokenCount),
      purpose: "document",
      cache: this.cache,
    });
    return store.commitIngest({
      jobId: job.jobId,
      collection: job.collection,
      documentId: job.documentId,
      title: job.title ?? parsed.title ?? job.source.filename,
      pageCount: parsed.pages?.length ?? null,
      tokenCount: countTokens(parsed.text),
      embeddingTokens: embedded.tokens,
      chunks: pieces.map((piece, i) => ({
        ...piece,
        ...pageRange(parsed.pages, piece.charStart, piece.charEnd),
        vector: embedded.embeddings[i] as Float32Array,
      })),
    });
  }
}

/** What a discarded failed upload looked like, so a waiting caller still learns why it failed. */
function failedPlaceholder(job: IngestJob, error: ErrorBody): DocumentRecord {
  const now = new Date().toISOString();
  return {
    collection: job.collection,
    id: job.documentId,
    title: job.title,
    metadata: job.metadata,
    status: "failed",
    error,
    source: job.source,
    pageCount: null,
    chunkCount: 0,
    tokenCount: 0,
    embeddingTokens: 0,
    createdAt: job.enqueuedAt,
    updatedAt: now,
  };
}
