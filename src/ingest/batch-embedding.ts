import { setTimeout as sleep } from "node:timers/promises";
import OpenAI, { toFile } from "openai";
import type { Logger } from "pino";
import { type EmbeddingCache, textSha256 } from "../embed/embed-many.ts";
import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import { type OpenAIEmbeddingModel, toUpstreamError } from "../embed/openai-embedder.ts";
import type { EmbeddingCacheKey, IngestJob, Store } from "../store/store.ts";
import { parseBatchOutput } from "./batch-output.ts";

/** What a finished batch delivered: billed tokens by text hash (a job claims the ones it uses). */
export interface BatchDelivery {
  batchId: string;
  tokens: Map<string, number>;
}

export interface BatchEmbeddingOptions {
  store: Store;
  client: () => OpenAI;
  logger: Logger;
  /** Completes a parked job once its batch ended: embed what is still missing, then commit. */
  finish: (job: IngestJob, delivery: BatchDelivery) => Promise<void>;
  /** First poll interval; it grows by half each poll up to `pollMaxMs`. */
  pollMs: number;
  pollMaxMs: number;
  /** How long texts gather before a batch is sent (uploads arriving together share one). */
  windowMs: number;
}

interface Gathering {
  model: OpenAIEmbeddingModel;
  jobs: IngestJob[];
  lines: Map<string, string>;
  bytes: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

// OpenAI's limits are 50,000 requests and 200 MB per batch input file; stay clear of both.
const MAX_LINES = 50_000;
const MAX_BYTES = 100 * 1024 * 1024;
const TERMINAL = new Set(["completed", "failed", "expired", "cancelled"]);
const METADATA_KEY = "gleaner_embedding";

/**
 * Embedding through OpenAI's Batch API (half price, up to 24 h): texts of batch-mode jobs are
 * gathered into one JSONL file (one line per distinct text, custom_id = its SHA-256, the
 * embedding cache key), uploaded with purpose "batch" and run on /v1/embeddings. Jobs are parked
 * with the batch id, so polling resumes after a restart. Results go into the embedding cache;
 * the jobs are then finished by the normal path, which pays only for what the batch did not
 * deliver (failed or expired lines).
 */
export class BatchEmbedding {
  private readonly gathering = new Map<string, Gathering>();
  private readonly polling = new Map<string, Promise<void>>();
  private abort = new AbortController();

  constructor(private readonly options: BatchEmbeddingOptions) {}

  /** Resumes polling every batch that parked jobs wait on. */
  async resume(): Promise<void> {
    this.abort = new AbortController();
    const parked = (await this.options.store.listParkedJobs?.()) ?? [];
    for (const batchId of new Set(parked.map((job) => job.externalRef))) this.watch(batchId);
    if (parked.length > 0) {
      this.options.logger.info({ jobs: parked.length }, "resumed polling embedding batches");
    }
  }

  /** Stops polling; batches keep running at the provider and are resumed by the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const gathering of this.gathering.values()) {
      if (gathering.timer) clearTimeout(gathering.timer);
    }
    // gathered jobs were never parked: the next start requeues them as interrupted
    this.gathering.clear();
    await Promise.allSettled(this.polling.values());
  }

  /** Queues a job's missing texts for the next batch of its model. */
  add(job: IngestJob, model: OpenAIEmbeddingModel, texts: string[]): void {
    const key = configKey(model.config);
    let gathering = this.gathering.get(key);
    if (!gathering) {
      gathering = {
        model,
        jobs: [],
        lines: new Map(),
        bytes: 0,
        startedAt: Date.now(),
        timer: null,
      };
      this.gathering.set(key, gathering);
    }
    // wait for a quiet window after the last upload, but not beyond ten windows in all
    if (gathering.timer) clearTimeout(gathering.timer);
    const latest = gathering.startedAt + 10 * this.options.windowMs;
    const delay = Math.max(0, Math.min(this.options.windowMs, latest - Date.now()));
    gathering.timer = setTimeout(() => void this.send(key), delay);
    gathering.jobs.push(job);
    for (const text of texts) {
      const hash = textSha256(text);
      if (gathering.lines.has(hash)) continue;
      const line = JSON.stringify({
        custom_id: hash,
        method: "POST",
        url: "/v1/embeddings",
        // base64 is a third of the size of a JSON number list; decoded in batch-output
        body: { ...model.requestBody(text), encoding_format: "base64" },
      });
      gathering.lines.set(hash, line);
      gathering.bytes += Buffer.byteLength(line) + 1;
    }
    if (gathering.lines.size >= MAX_LINES || gathering.bytes >= MAX_BYTES) {
      clearTimeout(gathering.timer);
      gathering.timer = null;
      void this.send(key);
    }
  }

  private async send(key: string): Promise<void> {
    const gathering = this.gathering.get(key);
    if (!gathering) return;
    this.gathering.delete(key);
    const { store, logger } = this.options;
    let batchId: string;
    try {
      const client = this.options.client();
      const content = `${[...gathering.lines.values()].join("\n")}\n`;
      const file = await client.files.create({
        file: await toFile(Buffer.from(content), "gleaner-embeddings.jsonl", {
          type: "application/jsonl",
        }),
        purpose: "batch",
      });
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/embeddings",
        completion_window: "24h",
        metadata: { [METADATA_KEY]: key },
      });
      batchId = batch.id;
    } catch (error) {
      // no batch: the normal path embeds everything, at the normal price
      const mapped = toUpstreamError(error, "Batch API");
      logger.warn({ err: mapped.message }, "could not start an embedding batch");
      for (const job of gathering.jobs) {
        await this.options.finish(job, { batchId: "", tokens: new Map() });
      }
      return;
    }
    for (const job of gathering.jobs) await store.parkJob?.(job.jobId, batchId);
    logger.info(
      { batch_id: batchId, lines: gathering.lines.size, jobs: gathering.jobs.length },
      "embedding batch created",
    );
    this.watch(batchId);
  }

  private watch(batchId: string): void {
    if (this.polling.has(batchId)) return;
    const task = this.poll(batchId, this.abort.signal).finally(() => this.polling.delete(batchId));
    this.polling.set(batchId, task);
  }

  private async poll(batchId: string, signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    let delay = this.options.pollMs;
    let batch: OpenAI.Batch | null = null;
    while (!signal.aborted) {
      try {
        // no signal: the SDK leaves a listener on it per call; a poll is bounded by the timeout
        batch = await this.options.client().batches.retrieve(batchId);
        if (TERMINAL.has(batch.status)) break;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof OpenAI.NotFoundError) break;
        logger.warn(
          { batch_id: batchId, err: toUpstreamError(error, "Batch API").message },
          "batch poll failed",
        );
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return;
      }
      delay = Math.min(this.options.pollMaxMs, Math.ceil(delay * 1.5));
    }
    if (signal.aborted) return;
    await this.deliver(batchId, batch);
  }

  private async deliver(batchId: string, batch: OpenAI.Batch | null): Promise<void> {
    const { store, logger } = this.options;
    const tokens = new Map<string, number>();
    const key = batch ? parseKey(batch.metadata?.[METADATA_KEY]) : null;
    if (batch?.output_file_id && key) {
      try {
        const response = await this.options.client().files.content(batch.output_file_id);
        const results = parseBatchOutput(await response.text(), key.dimensions);
        const cacheKey: EmbeddingCacheKey = { ...key };
        await store.putCachedEmbeddings(
          cacheKey,
          results.map((result) => ({ textHash: result.customId, vector: result.vector })),
        );
        for (const result of results) tokens.set(result.customId, result.tokens);
      } catch (error) {
        logger.warn(
          { batch_id: batchId, err: toUpstreamError(error, "Batch API").message },
          "batch output unreadable",
        );
      }
    }
    logger.info(
      {
        batch_id: batchId,
        status: batch?.status ?? "missing",
        delivered: tokens.size,
        failed: batch?.request_counts?.failed ?? 0,
      },
      "embedding batch ended",
    );
    const jobs = ((await store.listParkedJobs?.()) ?? []).filter(
      (job) => job.externalRef === batchId,
    );
    for (const job of jobs) await this.options.finish(job, { batchId, tokens });
  }
}

function configKey(config: EmbeddingConfig): string {
  return `${config.provider}/${config.model}/${config.dimensions}`;
}

function parseKey(value: unknown): EmbeddingConfig | null {
  if (typeof value !== "string") return null;
  const match = /^(local|openai)\/(.+)\/(\d+)$/.exec(value);
  if (!match) return null;
  return {
    provider: match[1] === "openai" ? "openai" : "local",
    model: match[2] as string,
    dimensions: Number(match[3]),
  };
}

/** The distinct texts the cache has no vector for under `config` (what a batch must embed). */
export async function uncachedTexts(
  cache: EmbeddingCache,
  config: EmbeddingConfig,
  texts: string[],
): Promise<string[]> {
  const byHash = new Map(texts.map((text) => [textSha256(text), text]));
  const known = await cache.get({ ...config }, [...byHash.keys()]);
  return [...byHash].filter(([hash]) => !known.has(hash)).map(([, text]) => text);
}

/** Tokens the batch billed for texts of one document; each text's tokens go to one document. */
export function claimBatchTokens(delivery: BatchDelivery | undefined, texts: string[]): number {
  if (!delivery) return 0;
  let tokens = 0;
  for (const hash of new Set(texts.map(textSha256))) {
    tokens += delivery.tokens.get(hash) ?? 0;
    delivery.tokens.delete(hash);
  }
  return tokens;
}
