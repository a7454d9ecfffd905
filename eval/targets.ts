import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createRuntime, type Runtime } from "../src/bootstrap.ts";
import { resolveCollectionSettings } from "../src/collection-settings.ts";
import { loadConfig } from "../src/config.ts";
import {
  type SearchMode,
  type SearchOptions,
  SearchService,
} from "../src/search/search-service.ts";
import type { EvalDocument } from "./dataset.ts";

/** Where an eval runs: ingest a collection once, then answer queries with document ids. */
export interface SearchTarget {
  readonly description: string;
  /** Ingests every document; returns how many chunks they became. */
  ingest(documents: readonly EvalDocument[]): Promise<{ chunks: number }>;
  /** Document ids for a query, best first (a document's best chunk stands for it). */
  search(query: string, mode: SearchMode, k: number): Promise<string[]>;
  /** Removes what ingest created. */
  close(): Promise<void>;
  /** Optional: hybrid search under other options (reference rows such as BM25+RM3). */
  searchWithOptions?(query: string, options: SearchOptions, k: number): Promise<string[]>;
}

const encoder = new TextEncoder();

function collectionName(): string {
  return `eval-${randomBytes(4).toString("hex")}`;
}

/** The service in this process over a temporary data dir: the real ingest queue and search. */
export class InProcessTarget implements SearchTarget {
  readonly description = "in-process (createRuntime, temporary data dir)";
  readonly dataDir = mkdtempSync(join(tmpdir(), "gleaner-eval-"));
  readonly runtime: Runtime;
  readonly collection = collectionName();
  private started = false;

  /** `environment` adds settings (e.g. GLEANER_LOCAL_EMBEDDING_DIMENSIONS) to the defaults. */
  constructor(readonly environment: Record<string, string> = {}) {
    const config = loadConfig({
      ...environment,
      GLEANER_DATA_DIR: this.dataDir,
      GLEANER_LOG_LEVEL: "silent",
    });
    this.runtime = createRuntime(config, { logger: pino({ level: "silent" }) });
  }

  async ingest(documents: readonly EvalDocument[]): Promise<{ chunks: number }> {
    const { services } = this.runtime;
    // The queue starts after every waiter is registered, so no job can finish unobserved.
    await this.runtime.start({ processQueue: false });
    this.started = true;
    await services.store.createCollection(
      resolveCollectionSettings({ name: this.collection }, services.embedders),
    );
    const waiting: Promise<unknown>[] = [];
    for (const document of documents) {
      const submitted = await services.ingest.submit({
        collection: this.collection,
        documentId: document.id,
        title: document.title || undefined,
        filename: null,
        declaredType: "text/plain",
        bytes: encoder.encode(document.text),
      });
      if (submitted.jobId !== null) waiting.push(services.ingest.waitFor(submitted.jobId));
    }
    // the queue's idle timer is unref'd (a server holds the process open); this caller must
    const keepAlive = setInterval(() => {}, 1000);
    let outcomes: { error: { message: string } | null }[];
    try {
      await services.ingest.start();
      outcomes = (await Promise.all(waiting)) as { error: { message: string } | null }[];
      await services.ingest.stop();
    } finally {
      clearInterval(keepAlive);
    }
    const failed = outcomes.filter((outcome) => outcome.error !== null);
    if (failed.length > 0) {
      throw new Error(`${failed.length} documents failed to ingest: ${failed[0]?.error?.message}`);
    }
    const record = await services.store.getCollection(this.collection);
    return { chunks: record?.chunkCount ?? 0 };
  }

  async search(query: string, mode: SearchMode, k: number): Promise<string[]> {
    const response = await this.runtime.services.search.search({
      collection: this.collection,
      query,
      k,
      mode,
    });
    return [...new Set(response.hits.map((hit) => hit.documentId))];
  }

  async searchWithOptions(query: string, options: SearchOptions, k: number): Promise<string[]> {
    const { store, embedders } = this.runtime.services;
    const response = await new SearchService(store, embedders, options).search({
      collection: this.collection,
      query,
      k,
      mode: "hybrid",
    });
    return [...new Set(response.hits.map((hit) => hit.documentId))];
  }

  /** Stops the runtime but keeps the data dir (for experiments that reopen the store). */
  async stop(): Promise<void> {
    if (this.started) await this.runtime.stop();
    this.started = false;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A running server over HTTP: a temporary collection, bulk uploads, POST /search. */
export class HttpTarget implements SearchTarget {
  readonly description: string;
  private readonly collection = collectionName();
  private created = false;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly batchSize = 100,
  ) {
    this.description = `HTTP ${baseUrl}`;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 300)}`);
    return text.length > 0 ? (JSON.parse(text) as unknown) : null;
  }

  async ingest(documents: readonly EvalDocument[]): Promise<{ chunks: number }> {
    await this.call("POST", "/v1/collections", {
      name: this.collection,
      description: "temporary collection of the eval harness",
    });
    this.created = true;
    for (let start = 0; start < documents.length; start += this.batchSize) {
      const batch = documents.slice(start, start + this.batchSize).map((document) => ({
        id: document.id,
        text: document.text,
        ...(document.title ? { title: document.title } : {}),
      }));
      const result = (await this.call("POST", `/v1/collections/${this.collection}/documents`, {
        documents: batch,
      })) as { data: { id: string; status: string }[] };
      const failed = result.data.filter((document) => document.status !== "ready");
      if (failed.length > 0) throw new Error(`document ${failed[0]?.id} is ${failed[0]?.status}`);
    }
    const record = (await this.call("GET", `/v1/collections/${this.collection}`)) as {
      chunk_count: number;
    };
    return { chunks: record.chunk_count };
  }

  async search(query: string, mode: SearchMode, k: number): Promise<string[]> {
    const result = (await this.call("POST", `/v1/collections/${this.collection}/search`, {
      query,
      k: Math.min(k, 100),
      mode,
    })) as { data: { document_id: string }[] };
    return [...new Set(result.data.map((hit) => hit.document_id))];
  }

  async close(): Promise<void> {
    if (this.created) await this.call("DELETE", `/v1/collections/${this.collection}`);
  }
}
