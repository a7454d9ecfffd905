import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { AppError } from "../../errors.ts";
import type { PdfWorkerJob, PdfWorkerMessage, PdfWorkerResult } from "./pdf-worker.ts";

/** How many PDF workers run, how much memory each may use, and when they are replaced. */
export interface PdfWorkerPoolOptions {
  /** Documents parsed at the same time, one per worker. */
  size?: number;
  /** V8 old-generation heap limit of each worker. */
  maxOldGenerationSizeMb?: number;
  /** A worker is replaced after this many documents, so pdf.js caches cannot grow forever. */
  maxDocumentsPerWorker?: number;
  /** An idle worker is stopped after this long, giving its memory back. */
  idleMs?: number;
}

/** One document for the pool. */
export interface PdfWorkerRun {
  bytes: Uint8Array;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Job extends PdfWorkerRun {
  resolve(result: PdfWorkerResult): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  documents: number;
  idleTimer?: NodeJS.Timeout;
}

const workerUrl = new URL("./pdf-worker.ts", import.meta.url);
const pdfjsDirectory = dirname(
  createRequire(import.meta.resolve("pdf-parse")).resolve("pdfjs-dist/package.json"),
);
const pdfjsAssets = {
  cMapUrl: `${join(pdfjsDirectory, "cmaps")}/`,
  standardFontDataUrl: `${join(pdfjsDirectory, "standard_fonts")}/`,
};

/**
 * Node 20 ignores `--import` in a worker's execArgv, so a TypeScript worker starts from a tiny
 * module that registers tsx in its own thread. Source maps stay off there: pdf.js ships 7 MB
 * of them and reading them doubles the worker's start-up time.
 */
function workerEntry(): URL {
  if (!workerUrl.pathname.endsWith(".ts")) return workerUrl;
  const bootstrap = [
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    "register();",
    "process.setSourceMapsEnabled(false);",
    `await import(${JSON.stringify(workerUrl.href)});`,
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

function unprocessable(message: string, cause?: unknown): AppError {
  return new AppError("unprocessable", message, { param: "file", cause });
}

/** Long-lived pdf.js workers: start-up (about a second) is paid once, not per document. */
export class PdfWorkerPool {
  readonly #size: number;
  readonly #maxOldGenerationSizeMb: number;
  readonly #maxDocumentsPerWorker: number;
  readonly #idleMs: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #closed = false;

  constructor(options: PdfWorkerPoolOptions = {}) {
    this.#size = options.size ?? Math.max(1, Math.min(2, availableParallelism() - 1));
    this.#maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? 512;
    this.#maxDocumentsPerWorker = options.maxDocumentsPerWorker ?? 50;
    this.#idleMs = options.idleMs ?? 30_000;
  }

  /** Parses one PDF in a worker; rejects with AppError on timeout, crash or memory exhaustion. */
  run(request: PdfWorkerRun): Promise<PdfWorkerResult> {
    return new Promise<PdfWorkerResult>((resolve, reject) => {
      if (this.#closed) throw new AppError("unavailable", "The PDF parser is shut down.");
      request.signal?.throwIfAborted();
      const onAbort = () => this.#abort(job);
      const settle = () => request.signal?.removeEventListener("abort", onAbort);
      const job: Job = {
        ...request,
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      request.signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /** Stops every worker; queued and running documents are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0))
      job.reject(new AppError("unavailable", "The PDF parser is shut down."));
    await Promise.all(
      [...this.#slots].map((slot) => {
        const job = slot.job;
        slot.job = null;
        clearTimeout(job?.timer);
        job?.reject(new AppError("unavailable", "The PDF parser is shut down."));
        return this.#retire(slot);
      }),
    );
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = [...this.#slots].find((candidate) => candidate.job === null);
      if (!slot && this.#slots.size < this.#size) slot = this.#spawn();
      if (!slot) return;
      const job = this.#queue.shift();
      if (job) this.#start(slot, job);
    }
  }

  #start(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    slot.worker.ref();
    job.timer = setTimeout(() => {
      const limit =
        job.timeoutMs >= 1000 ? `${Math.round(job.timeoutMs / 100) / 10} s` : `${job.timeoutMs} ms`;
      this.#fail(
        slot,
        unprocessable(
          `The PDF took longer than ${limit} to parse; split it into smaller files or re-export it, and upload again.`,
        ),
      );
    }, job.timeoutMs);
    const message: PdfWorkerJob = { bytes: job.bytes, ...pdfjsAssets };
    slot.worker.postMessage(message);
  }

  #spawn(): Slot {
    const worker = new Worker(workerEntry(), {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.#maxOldGenerationSizeMb },
      // pdf.js chatter about malformed files is noise; failures come back as results.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    const slot: Slot = { worker, ready: false, job: null, documents: 0 };
    this.#slots.add(slot);
    worker.on("message", (message: PdfWorkerMessage) => {
      if (message.type === "ready") slot.ready = true;
      else this.#finish(slot, message.result);
    });
    worker.on("error", (error: Error & { code?: string }) =>
      this.#fail(slot, this.#describeCrash(slot, error)),
    );
    worker.on("exit", (code) => {
      this.#slots.delete(slot);
      this.#fail(
        slot,
        unprocessable(
          `The PDF parser stopped unexpectedly (exit code ${code}); re-export the PDF and upload it again.`,
        ),
      );
      this.#dispatch();
    });
    return slot;
  }

  #describeCrash(slot: Slot, error: Error & { code?: string }): AppError {
    if (!slot.ready) {
      return new AppError("internal", `The PDF parser could not start: ${error.message}`, {
        cause: error,
      });
    }
    if (error.code === "ERR_WORKER_OUT_OF_MEMORY") {
      return unprocessable(
        `The PDF needs more than ${this.#maxOldGenerationSizeMb} MB of memory to parse; split it into smaller files and upload them.`,
        error,
      );
    }
    return unprocessable(
      `The PDF could not be parsed (the parser crashed: ${error.message}); re-export it and upload again.`,
      error,
    );
  }

  #finish(slot: Slot, result: PdfWorkerResult): void {
    const job = slot.job;
    if (!job) return;
    clearTimeout(job.timer);
    slot.job = null;
    slot.documents += 1;
    job.resolve(result);
    if (slot.documents >= this.#maxDocumentsPerWorker) {
      void this.#retire(slot);
    } else {
      // An idle worker must not keep the process alive.
      slot.worker.unref();
      slot.idleTimer = setTimeout(() => void this.#retire(slot), this.#idleMs).unref();
    }
    this.#dispatch();
  }

  /** The worker's state is unknown after a timeout, crash or abort: it is replaced, never reused. */
  #fail(slot: Slot, error: unknown): void {
    const job = slot.job;
    slot.job = null;
    if (job) {
      clearTimeout(job.timer);
      job.reject(error);
    }
    void this.#retire(slot);
    this.#dispatch();
  }

  #abort(job: Job): void {
    const reason: unknown = job.signal?.reason;
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      job.reject(reason);
      return;
    }
    const slot = [...this.#slots].find((candidate) => candidate.job === job);
    if (slot) this.#fail(slot, reason);
  }

  async #retire(slot: Slot): Promise<void> {
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    await slot.worker.terminate();
  }
}
