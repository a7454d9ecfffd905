import type { DocumentRecord, Store } from "../store/store.ts";
import type { JobOutcome } from "./ingest-service.ts";

interface Pending {
  promise: Promise<JobOutcome>;
  resolve: (outcome: JobOutcome) => void;
  collection: string;
  documentId: string;
  polling: boolean;
}

const REMEMBERED_OUTCOMES = 10_000;

/**
 * Who is waiting for which ingest job. A job is expected from the moment it is queued, so it can
 * never finish before its waiter exists; finished outcomes are remembered for late waiters; and a
 * waiter also watches the document in the store, so a job finished by another process (a replica
 * sharing the database) still releases it.
 */
export class JobCompletions {
  private readonly pending = new Map<number, Pending>();
  private readonly finished = new Map<number, JobOutcome>();
  /** Jobs this process is settling: the store's view of them is mid-change, not an outcome. */
  private readonly settlingLocally = new Set<number>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly pollMs = 500,
  ) {}

  /** Registers a queued job; call it right after the job is enqueued. */
  expect(jobId: number, target: { collection: string; documentId: string }): void {
    if (this.pending.has(jobId) || this.finished.has(jobId)) return;
    let resolve!: (outcome: JobOutcome) => void;
    const promise = new Promise<JobOutcome>((done) => {
      resolve = done;
    });
    this.pending.set(jobId, { promise, resolve, ...target, polling: false });
  }

  /** The job's outcome, once it has been committed or has failed. */
  wait(jobId: number): Promise<JobOutcome> {
    const finished = this.finished.get(jobId);
    if (finished) return Promise.resolve(finished);
    const pending = this.pending.get(jobId);
    if (!pending) return Promise.resolve({ document: null, error: null });
    if (!pending.polling) {
      pending.polling = true;
      void this.watch(jobId, pending);
    }
    return pending.promise;
  }

  /** Says this process is about to settle the job, so the store watch must not answer for it. */
  settlingHere(jobId: number): void {
    if (this.pending.has(jobId)) this.settlingLocally.add(jobId);
  }

  /** Records how a job ended and releases its waiters. */
  settle(jobId: number, outcome: JobOutcome): void {
    const pending = this.pending.get(jobId);
    this.pending.delete(jobId);
    this.settlingLocally.delete(jobId);
    this.finished.set(jobId, outcome);
    if (this.finished.size > REMEMBERED_OUTCOMES) {
      const oldest = this.finished.keys().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
    pending?.resolve(outcome);
  }

  /** Stops watching the store (waiters of unfinished jobs stay pending). */
  close(): void {
    this.closed = true;
  }

  private async watch(jobId: number, pending: Pending): Promise<void> {
    while (!this.closed && this.pending.get(jobId) === pending) {
      // not unref'd: someone is waiting for this job, which is reason enough to stay alive
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      if (this.pending.get(jobId) !== pending) return;
      if (this.settlingLocally.has(jobId)) continue;
      let document: DocumentRecord | null;
      try {
        document = await this.store.getDocument(pending.collection, pending.documentId);
      } catch {
        continue;
      }
      if (document === null) {
        this.settle(jobId, {
          document: null,
          error: {
            type: "not_found",
            message: "The document was removed while it was being processed.",
            param: null,
          },
        });
      } else if (document.status === "ready" || document.status === "failed") {
        this.settle(jobId, {
          document,
          error: document.status === "failed" ? document.error : null,
        });
      }
    }
  }
}
