import { createHash } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { type EmbeddingCache, embedMany } from "../embed/embed-many.ts";
import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import type { EmbeddingConfig, EmbeddingModel } from "../embed/embedding-model.ts";
import { OpenAIEmbeddingModel } from "../embed/openai-embedder.ts";
import { AppError, type ErrorBody, toAppError } from "../errors.ts";
import type {
  ChunkingConfig,
  CollectionRecord,
  DocumentRecord,
  EmbeddingMode,
  EnqueueOutcome,
  IngestJob,
  IngestRequest,
  IngestResult,
  Metadata,
  Store,
} from "../store/store.ts";
import {
  type BatchDelivery,
  BatchEmbedding,
  claimBatchTokens,
  uncachedTexts,
} from "./batch-embedding.ts";
import { type ChunkingOptions, chunkText, type TextChunk } from "./chunker.ts";
import { JobCompletions } from "./job-completions.ts";
import { pageRange } from "./page-ranges.ts";
import { detectMediaType } from "./parsers/detect-type.ts";
import { type PdfWorkerPool, parseDocument } from "./parsers/index.ts";
import { isSupportedMediaType, type ParsedDocument } from "./parsers/parser.ts";
import { countTokens } from "./tokenizer.ts";

export interface Upload {
  collection: string;
  /** The client's id; one is made from the content when absent. */
  documentId?: string | undefined;
  title?: string | undefined;
  metadata?: Metadata | undefined;
  filename: string | null;
  declaredType: string | null;
  /** The bytes are text the client sent as a JSON string: never sniffed as a binary format. */
  isText?: boolean | undefined;
  bytes: Uint8Array;
  /** "batch" embeds through the provider's Batch API: cheaper, and done within 24 hours. */
  embeddingMode?: EmbeddingMode | undefined;
  /** This document's own chunking; the collection's when absent. */
  chunking?: ChunkingConfig | undefined;
}

/** ingest()'s answer for a job handed to the Batch API: it is finished when the batch ends. */
const PARKED = Symbol("parked");

// A document embedded under a configuration that a re-index replaced meanwhile is embedded again.
const MAX_EMBED_ATTEMPTS = 3;

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

/** What observers (metrics) learn when a job ends. */
export interface JobFinished {
  collection: string;
  /** Tokens sent to the embedding provider for this document (cache hits excluded). */
  embeddingTokens: number;
  error: ErrorBody | null;
  milliseconds: number;
}

export interface IngestServiceOptions {
  store: Store;
  embedders: EmbedderRegistry;
  logger: Logger;
  concurrency: number;
  pdfTimeoutMs: number;
  /** Worker threads for PDFs; the caller owns it and closes it on shutdown. */
  pdfPool?: PdfWorkerPool | undefined;
}

/**
 * Turns uploads into searchable chunks through a durable queue: an upload is recorded with its
 * bytes, then parsed, chunked, embedded and committed in one transaction by a background worker.
 */
export class IngestService {
  private readonly completions: JobCompletions;
  private readonly running = new Set<Promise<void>>();
  /** Jobs whose caller waits and wants a failed new document gone (a failed request changes nothing). */
  private readonly discardOnFailure = new Set<number>();
  private stopped = true;
  private wake: (() => void) | null = null;
  /** Set when work arrives while the loop is busy, so its next idle wait ends at once. */
  private workArrived = false;
  private loop: Promise<void> | null = null;
  private readonly cache: EmbeddingCache;
  private readonly batch: BatchEmbedding;
  private readonly observers = new Set<(event: JobFinished) => void>();

  constructor(private readonly options: IngestServiceOptions) {
    const { store } = options;
    this.completions = new JobCompletions(store);
    this.cache = {
      get: (key, hashes) => store.getCachedEmbeddings(key, hashes),
      put: (key, entries) => store.putCachedEmbeddings(key, entries),
    };
    const settings = options.embedders.openaiSettings;
    this.batch = new BatchEmbedding({
      store,
      client: () => options.embedders.openaiClient(),
      logger: options.logger,
      finish: (job, delivery) => this.process(job, delivery),
      pollMs: settings.batchPollMs,
      pollMaxMs: settings.batchPollMaxMs,
      windowMs: settings.batchWindowMs,
    });
  }

  /** Requeues work interrupted by a previous crash and starts processing the queue. */
  async start(): Promise<void> {
    const requeued = await this.options.store.requeueInterruptedJobs();
    if (requeued > 0) this.options.logger.info({ requeued }, "requeued interrupted ingest jobs");
    this.stopped = false;
    this.loop = this.run();
    await this.batch.resume();
  }

  /** Stops taking jobs and waits for the ones in progress; queued jobs stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.running);
    await this.batch.stop();
    this.completions.close();
  }

  /** Records an upload (type checked now, content processed by the queue). */
  async submit(
    upload: Upload,
    options: { discardOnFailure?: boolean } = {},
  ): Promise<SubmitOutcome> {
    const [outcome] = await this.submitMany([upload], options);
    if (!outcome) throw new AppError("internal", "submitMany returned no outcome.");
    return outcome;
  }

  /** Records several uploads, in one transaction where the store allows: all of them or none. */
  async submitMany(
    uploads: Upload[],
    options: { discardOnFailure?: boolean } = {},
  ): Promise<SubmitOutcome[]> {
    const { store } = this.options;
    const requests: IngestRequest[] = [];
    for (const upload of uploads) {
      const mediaType = await detectMediaType({
        bytes: upload.bytes,
        filename: upload.filename,
        declaredType: upload.declaredType,
        ...(upload.isText ? { isText: true } : {}),
      });
      if (upload.embeddingMode === "batch") await this.assertBatchPossible(upload.collection);
      const sha256 = createHash("sha256").update(upload.bytes).digest("hex");
      requests.push({
        collection: upload.collection,
        documentId: upload.documentId ?? sha256.slice(0, 32),
        title: upload.title ?? null,
        metadata: upload.metadata ?? {},
        source: { filename: upload.filename, mediaType, bytes: upload.bytes.byteLength, sha256 },
        payload: upload.bytes,
        embeddingMode: upload.embeddingMode,
        ...(upload.chunking ? { chunking: upload.chunking } : {}),
      });
    }
    let outcomes: EnqueueOutcome[];
    if (store.enqueueIngestMany && requests.length > 1) {
      outcomes = await store.enqueueIngestMany(requests);
    } else {
      outcomes = [];
      for (const request of requests) outcomes.push(await store.enqueueIngest(request));
    }
    const submitted = outcomes.map((outcome, index): SubmitOutcome => {
      const request = requests[index] as IngestRequest;
      if (outcome.jobId !== null) {
        this.completions.expect(outcome.jobId, {
          collection: request.collection,
          documentId: outcome.document.id,
        });
        if (options.discardOnFailure) this.discardOnFailure.add(outcome.jobId);
      }
      return { document: outcome.document, queued: outcome.jobId !== null, jobId: outcome.jobId };
    });
    if (submitted.some((outcome) => outcome.queued)) this.notifyWork();
    return submitted;
  }

  /** Resolves when the job has been committed or has failed (with the document as it then is). */
  waitFor(jobId: number): Promise<JobOutcome> {
    return this.completions.wait(jobId);
  }

  /** Calls `observer` after every job; returns a function that stops the calls. */
  onJobFinished(observer: (event: JobFinished) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** How many jobs are queued or running. */
  queueDepth(): Promise<number> {
    return this.options.store.countQueuedJobs();
  }

  private notifyWork(): void {
    this.workArrived = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // parsing and local embedding can be all synchronous work chained by promises: without a
      // turn of the event loop between jobs, a backlog would starve requests and signals
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.running.size >= this.options.concurrency) {
        await Promise.race(this.running);
        continue;
      }
      this.workArrived = false;
      const job = await this.options.store.claimNextJob();
      if (!job) {
        // stop() or a new upload may have come while the claim was in flight, with nothing to wake
        if (this.stopped) break;
        if (this.workArrived) continue;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
        this.wake = null;
        continue;
      }
      const task = this.processGroup(job).finally(() => this.running.delete(task));
      this.running.add(task);
    }
  }

  private async process(job: IngestJob, delivery?: BatchDelivery): Promise<void> {
    const { logger } = this.options;
    const started = performance.now();
    let document: DocumentRecord | null = null;
    let failure: ErrorBody | null = null;
    let parked = false;
    try {
      const result = await this.ingest(job, delivery);
      if (result === PARKED) {
        parked = true;
        return;
      }
      document = result;
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
      ({ document, failure } = await this.fail(job, error));
    } finally {
      if (!parked) this.settle(job, document, failure, started);
    }
  }

  /**
   * Processes claimed jobs. Small documents (everything but PDFs and Batch API jobs) come in
   * groups from a bulk upload: each is parsed, chunked and embedded on its own, then all are
   * committed in one transaction, each still atomic on its own. Turns of the event loop
   * between documents (every 10 ms of work) keep searches answered during a large upload.
   */
  private async processGroup(first: IngestJob): Promise<void> {
    const { store, logger } = this.options;
    if (!store.commitIngestMany || !groupable(first)) return this.process(first);
    const started = performance.now();
    const ready: { job: IngestJob; result: IngestResult }[] = [];
    let job: IngestJob | null = first;
    let alone: IngestJob | null = null;
    let lastYield = started;
    for (let taken = 1; job !== null; taken++) {
      try {
        ready.push({ job, result: await this.prepare(job) });
      } catch (error) {
        const { document, failure } = await this.fail(job, error);
        this.settle(job, document, failure, started);
      }
      // a job is claimed only when its turn comes, so stop() leaves the rest queued; the time
      // limit bounds what grouping adds to the wait of an upload that is answered on commit
      if (this.stopped || taken >= GROUP_SIZE || performance.now() - started > GROUP_MAX_MS) {
        break;
      }
      // a turn of the event loop can take long on a busy server: yield only after real work
      if (performance.now() - lastYield > YIELD_AFTER_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      job = await store.claimNextJob();
      if (job !== null && !groupable(job)) {
        alone = job;
        job = null;
      }
    }
    const outcomes =
      ready.length > 0 ? await store.commitIngestMany(ready.map(({ result }) => result)) : [];
    for (const [index, { job }] of ready.entries()) {
      const outcome = outcomes[index];
      if (outcome?.ok) {
        logger.info(
          {
            collection: job.collection,
            document_id: job.documentId,
            chunks: outcome.document?.chunkCount,
            ms: Math.round(performance.now() - started),
          },
          "document ingested",
        );
        this.settle(job, outcome.document, null, started);
      } else if (
        outcome &&
        outcome.error instanceof AppError &&
        outcome.error.type === "conflict"
      ) {
        // re-indexed meanwhile: the single-job path embeds it again under the new configuration
        await this.process(job);
      } else {
        const { document, failure } = await this.fail(job, outcome?.error);
        this.settle(job, document, failure, started);
      }
    }
    if (alone !== null) await this.process(alone);
  }

  /** Marks a job failed; the document as it then is, or a placeholder if it was discarded. */
  private async fail(
    job: IngestJob,
    error: unknown,
  ): Promise<{ document: DocumentRecord; failure: ErrorBody }> {
    const appError = toAppError(error);
    if (appError.type === "internal") {
      this.options.logger.error({ err: error }, "ingest failed unexpectedly");
    }
    // a discarded upload vanishes from the store before settle() says why it failed
    this.completions.settlingHere(job.jobId);
    const document = await this.options.store
      .failIngest({
        jobId: job.jobId,
        collection: job.collection,
        documentId: job.documentId,
        error: appError.toBody(),
        discardNewDocument: this.discardOnFailure.has(job.jobId),
      })
      .catch(() => null);
    return {
      document: document ?? failedPlaceholder(job, appError.toBody()),
      failure: appError.toBody(),
    };
  }

  /** The job's collection; not_found when it was deleted after the upload. */
  private async collectionOf(job: IngestJob): Promise<CollectionRecord> {
    const collection = await this.options.store.getCollection(job.collection);
    if (!collection) throw new AppError("not_found", `Collection "${job.collection}" was deleted.`);
    return collection;
  }

  /** Parses, chunks and embeds a job: what commitIngest needs. */
  private async prepare(job: IngestJob): Promise<IngestResult> {
    const collection = await this.collectionOf(job);
    const { parsed, pieces } = await this.parseAndChunk(job, job.chunking ?? collection.chunking);
    const model = this.options.embedders.modelFor(collection.embedding);
    const embedded = await embedMany({
      model,
      values: pieces.map((piece) => piece.text),
      tokenCounts: pieces.map((piece) => piece.tokenCount),
      purpose: "document",
      cache: this.cacheFor(model),
    });
    return this.commitRequest(job, parsed, pieces, {
      embedding: collection.embedding,
      embeddings: embedded.embeddings,
      tokens: embedded.tokens,
    });
  }

  private async parseAndChunk(
    job: IngestJob,
    chunking: ChunkingOptions,
  ): Promise<{ parsed: ParsedDocument; pieces: TextChunk[] }> {
    const { parsed } = await parseDocument({
      bytes: job.payload,
      filename: job.source.filename,
      declaredType: job.source.mediaType,
      ...(isSupportedMediaType(job.source.mediaType) ? { mediaType: job.source.mediaType } : {}),
      pdfTimeoutMs: this.options.pdfTimeoutMs,
      ...(this.options.pdfPool ? { pdfPool: this.options.pdfPool } : {}),
    });
    const pieces = chunkText(parsed, chunking);
    if (pieces.length === 0) {
      throw new AppError("unprocessable", "The document contains no text to index.", {
        param: "file",
      });
    }
    return { parsed, pieces };
  }

  /** The local embedder is cheaper to run again than to look up; only paid vectors are cached. */
  private cacheFor(model: EmbeddingModel): EmbeddingCache | undefined {
    return model.config.provider === "local" ? undefined : this.cache;
  }

  /** Tells observers and waiters that a job ended. */
  private settle(
    job: IngestJob,
    document: DocumentRecord | null,
    failure: ErrorBody | null,
    started: number,
  ): void {
    this.discardOnFailure.delete(job.jobId);
    const event: JobFinished = {
      collection: job.collection,
      embeddingTokens: failure ? 0 : (document?.embeddingTokens ?? 0),
      error: failure,
      milliseconds: performance.now() - started,
    };
    for (const observer of this.observers) observer(event);
    this.completions.settle(job.jobId, { document, error: failure });
  }

  private async ingest(
    job: IngestJob,
    delivery?: BatchDelivery,
  ): Promise<DocumentRecord | null | typeof PARKED> {
    const { embedders } = this.options;
    let collection = await this.collectionOf(job);
    const { parsed, pieces } = await this.parseAndChunk(job, job.chunking ?? collection.chunking);
    const texts = pieces.map((piece) => piece.text);
    for (let attempt = 1; ; attempt++) {
      const model = embedders.modelFor(collection.embedding);
      if (job.embeddingMode === "batch" && !delivery && model instanceof OpenAIEmbeddingModel) {
        const missing = await uncachedTexts(this.cache, model.config, texts);
        if (missing.length > 0) {
          this.batch.add(job, model, missing);
          return PARKED;
        }
      }
      const embedded = await embedMany({
        model,
        values: texts,
        tokenCounts: pieces.map((piece) => piece.tokenCount),
        purpose: "document",
        cache: this.cacheFor(model),
      });
      try {
        return await this.commit(job, parsed, pieces, {
          embedding: collection.embedding,
          embeddings: embedded.embeddings,
          tokens: embedded.tokens + claimBatchTokens(delivery, texts),
        });
      } catch (error) {
        if (
          !(error instanceof AppError && error.type === "conflict") ||
          attempt >= MAX_EMBED_ATTEMPTS
        )
          throw error;
        collection = await this.collectionOf(job);
      }
    }
  }

  private commit(
    job: IngestJob,
    parsed: ParsedDocument,
    pieces: TextChunk[],
    vectors: { embedding: EmbeddingConfig; embeddings: Float32Array[]; tokens: number },
  ): Promise<DocumentRecord | null> {
    return this.options.store.commitIngest(this.commitRequest(job, parsed, pieces, vectors));
  }

  private commitRequest(
    job: IngestJob,
    parsed: ParsedDocument,
    pieces: TextChunk[],
    vectors: { embedding: EmbeddingConfig; embeddings: Float32Array[]; tokens: number },
  ): IngestResult {
    return {
      jobId: job.jobId,
      collection: job.collection,
      documentId: job.documentId,
      title: job.title ?? parsed.title ?? job.source.filename,
      pageCount: parsed.pages?.length ?? null,
      tokenCount: countTokens(parsed.text),
      embeddingTokens: vectors.tokens,
      embedding: vectors.embedding,
      chunks: pieces.map((piece, i) => ({
        ...piece,
        ...pageRange(parsed.pages, piece.charStart, piece.charEnd),
        vector: vectors.embeddings[i] as Float32Array,
      })),
    };
  }

  /** Batch mode needs an OpenAI collection and a store that can park jobs. */
  private async assertBatchPossible(name: string): Promise<void> {
    const collection = await this.options.store.getCollection(name);
    if (collection && collection.embedding.provider !== "openai") {
      throw new AppError(
        "invalid_request",
        `embedding_mode=batch uses OpenAI's Batch API; collection "${name}" embeds with the ${collection.embedding.provider} provider.`,
        { param: "embedding_mode" },
      );
    }
    if (!this.options.store.parkJob || !this.options.store.listParkedJobs) {
      throw new AppError(
        "invalid_request",
        "This storage backend does not support embedding_mode=batch.",
        { param: "embedding_mode" },
      );
    }
  }
}

/** Jobs claimed together, so a bulk upload is committed in few transactions. */
const GROUP_SIZE = 64;
const GROUP_MAX_MS = 50;
const YIELD_AFTER_MS = 10;

/** Small documents are committed in groups; PDFs and Batch API jobs one at a time. */
function groupable(job: IngestJob): boolean {
  return job.embeddingMode !== "batch" && job.source.mediaType !== "application/pdf";
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
