import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import cliProgress from "cli-progress";
import type { Runtime } from "../bootstrap.ts";
import { toAppError } from "../errors.ts";

export interface IngestCommandOptions {
  paths: string[];
  collection: string;
  progress: boolean;
  /** Embed through the provider's Batch API; waits for the batch (resumed by any later start). */
  batch?: boolean;
}

export interface IngestSummary {
  documents: number;
  unchanged: number;
  chunks: number;
  tokens: number;
  failures: { path: string; message: string }[];
  seconds: number;
}

/** Every regular file under the given files and folders, in a stable order (dot files skipped). */
export function collectFiles(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (path: string): void => {
    const stats = statSync(path);
    if (stats.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (!entry.startsWith(".")) visit(join(path, entry));
      }
    } else if (stats.isFile()) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path);
  return files;
}

/** Ingests files through the same queue as the API, with a progress bar and a summary. */
export async function runIngest(
  runtime: Runtime,
  options: IngestCommandOptions,
): Promise<IngestSummary> {
  const { ingest } = runtime.services;
  const started = performance.now();
  const files = collectFiles(options.paths);
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format: "ingest [{bar}] {value}/{total} files | {chunks} chunks | {failed} failed",
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(files.length, 0, { chunks: 0, failed: 0 });
  const summary: IngestSummary = {
    documents: 0,
    unchanged: 0,
    chunks: 0,
    tokens: 0,
    failures: [],
    seconds: 0,
  };
  const pending: Promise<void>[] = [];
  const finish = (path: string, chunks: number, tokens: number, failure: string | null): void => {
    if (failure) summary.failures.push({ path, message: failure });
    else {
      summary.documents++;
      summary.chunks += chunks;
      summary.tokens += tokens;
    }
    bar?.increment(1, { chunks: summary.chunks, failed: summary.failures.length });
  };
  for (const path of files) {
    try {
      const submitted = await ingest.submit({
        collection: options.collection,
        documentId: path,
        filename: basename(path),
        declaredType: null,
        bytes: readFileSync(path),
        ...(options.batch ? { embeddingMode: "batch" as const } : {}),
      });
      if (!submitted.queued || submitted.jobId === null) {
        summary.unchanged++;
        finish(path, submitted.document.chunkCount, submitted.document.tokenCount, null);
        continue;
      }
      pending.push(
        ingest.waitFor(submitted.jobId).then((outcome) => {
          finish(
            path,
            outcome.document?.chunkCount ?? 0,
            outcome.document?.tokenCount ?? 0,
            outcome.error?.message ?? null,
          );
        }),
      );
    } catch (error) {
      finish(path, 0, 0, toAppError(error).message);
    }
  }
  await Promise.all(pending);
  bar?.stop();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
