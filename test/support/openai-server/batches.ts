import { validateLines } from "./batch-lines.ts";
import { createEmbeddings, type EmbeddingContext } from "./embeddings.ts";
import type { FileStore } from "./files.ts";
import {
  ApiError,
  isRecord,
  type Json,
  type JsonObject,
  newId,
  parseJson,
  unixNow,
} from "./http.ts";

/** How batches created from now on behave; set per test with `server.setBatchBehaviour`. */
export interface BatchBehaviour {
  /** GETs a batch spends in each of validating, in_progress and finalizing (default 1; 0 jumps to the end). */
  pollsPerStage?: number;
  /** Milliseconds per stage instead (checked when polled); with both set, whichever comes first. */
  stageMs?: number;
  /** How the batch ends (default "completed"). */
  outcome?: "completed" | "failed" | "expired";
  /** For `outcome: "failed"`: the batch-level error. */
  failure?: { code: string; message: string };
  /** For `outcome: "expired"`: lines finished before expiry (default half, rounded down). */
  completedBeforeExpiry?: number;
  /** custom_ids whose request fails (written to the error file with `failStatus`). */
  failCustomIds?: readonly string[];
  /** Status of those failures (default 500). */
  failStatus?: number;
}

interface BatchState {
  batch: JsonObject;
  behaviour: BatchBehaviour;
  pollsInStage: number;
  stageEnteredAt: number;
}

const MAX_BATCHES = 1000;
const TERMINAL = new Set(["completed", "failed", "expired", "cancelled"]);

/** The batch endpoints' state: batches progress as they are polled. */
export class BatchStore {
  readonly #batches = new Map<string, BatchState>();
  readonly #files: FileStore;
  readonly #embeddings: EmbeddingContext;
  behaviour: BatchBehaviour = {};

  constructor(files: FileStore, embeddings: EmbeddingContext) {
    this.#files = files;
    this.#embeddings = embeddings;
  }

  /** Creates a batch in `validating` from a validated CreateBatchRequest. */
  create(body: JsonObject): JsonObject {
    const inputFileId = String(body.input_file_id);
    const file = this.#files.get(inputFileId, "input_file_id");
    if (file.purpose !== "batch") {
      throw new ApiError(
        400,
        `File ${inputFileId} has purpose '${file.purpose}'; batches need purpose 'batch'.`,
        {
          param: "input_file_id",
        },
      );
    }
    if (body.endpoint !== "/v1/embeddings") {
      throw new ApiError(400, "This test server runs batches for /v1/embeddings only.", {
        param: "endpoint",
        code: "invalid_value",
      });
    }
    const createdAt = unixNow();
    const batch: JsonObject = {
      id: newId("batch_", 16),
      object: "batch",
      endpoint: body.endpoint,
      input_file_id: inputFileId,
      completion_window: body.completion_window ?? "24h",
      status: "validating",
      created_at: createdAt,
      expires_at: createdAt + 86_400,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: body.metadata ?? null,
    };
    this.#batches.set(String(batch.id), {
      batch,
      behaviour: { ...this.behaviour },
      pollsInStage: 0,
      stageEnteredAt: Date.now(),
    });
    for (const oldest of this.#batches.keys()) {
      if (this.#batches.size <= MAX_BATCHES) break;
      this.#batches.delete(oldest);
    }
    return batch;
  }

  /** The batch after one more poll (advancing it when its stage is over). */
  poll(id: string): JsonObject {
    const state = this.#state(id);
    state.pollsInStage += 1;
    this.#advance(state);
    return state.batch;
  }

  /** Asks a batch to cancel: `cancelling` now, `cancelled` on the next poll. */
  cancel(id: string): JsonObject {
    const state = this.#state(id);
    const status = String(state.batch.status);
    if (TERMINAL.has(status) || status === "cancelling") {
      throw new ApiError(400, `Cannot cancel a batch with status '${status}'.`);
    }
    state.batch.status = "cancelling";
    state.batch.cancelling_at = unixNow();
    return state.batch;
  }

  /** Every batch, newest first. */
  list(): JsonObject[] {
    return [...this.#batches.values()].map((state) => state.batch).reverse();
  }

  /** Forgets every batch. */
  clear(): void {
    this.#batches.clear();
  }

  #state(id: string): BatchState {
    const state = this.#batches.get(id);
    if (!state) throw new ApiError(404, `No batch found with id '${id}'.`, { param: "batch_id" });
    return state;
  }

  #advance(state: BatchState): void {
    const { batch, behaviour } = state;
    const polls =
      behaviour.pollsPerStage ?? (behaviour.stageMs === undefined ? 1 : Number.POSITIVE_INFINITY);
    for (;;) {
      const status = String(batch.status);
      if (TERMINAL.has(status)) return;
      if (status === "cancelling") {
        batch.status = "cancelled";
        batch.cancelled_at = unixNow();
        return;
      }
      const pollsDone = state.pollsInStage >= polls;
      const timeDone =
        behaviour.stageMs !== undefined && Date.now() - state.stageEnteredAt >= behaviour.stageMs;
      if (!pollsDone && !timeDone) return;
      state.pollsInStage = 0;
      state.stageEnteredAt = Date.now();
      if (status === "validating") this.#startProcessing(batch, behaviour);
      else if (status === "in_progress") {
        batch.status = "finalizing";
        batch.finalizing_at = unixNow();
      } else this.#finish(batch, behaviour);
    }
  }

  #inputLines(batch: JsonObject): string[] {
    const file = this.#files.get(String(batch.input_file_id), "input_file_id");
    return file.content
      .toString("utf8")
      .split("\n")
      .filter((line) => line.trim() !== "");
  }

  #startProcessing(batch: JsonObject, behaviour: BatchBehaviour): void {
    const lines = this.#inputLines(batch);
    const problems = validateLines(lines, String(batch.endpoint));
    if (behaviour.outcome === "failed" || problems.length > 0) {
      const failure = behaviour.failure ?? { code: "batch_failed", message: "The batch failed." };
      batch.status = "failed";
      batch.failed_at = unixNow();
      batch.errors = {
        object: "list",
        data:
          problems.length > 0
            ? problems
            : [{ code: failure.code, message: failure.message, param: null, line: null }],
      };
      return;
    }
    batch.status = "in_progress";
    batch.in_progress_at = unixNow();
    batch.request_counts = { total: lines.length, completed: 0, failed: 0 };
    const first = parseJson(lines[0] ?? "null");
    if (isRecord(first) && isRecord(first.body) && typeof first.body.model === "string") {
      batch.model = first.body.model;
    }
  }

  #finish(batch: JsonObject, behaviour: BatchBehaviour): void {
    const lines = this.#inputLines(batch).map((line) => parseJson(line));
    const expired = behaviour.outcome === "expired";
    const runCount = expired
      ? (behaviour.completedBeforeExpiry ?? Math.floor(lines.length / 2))
      : lines.length;
    const failIds = new Set(behaviour.failCustomIds ?? []);
    const outputs: string[] = [];
    const errors: string[] = [];
    let inputTokens = 0;
    for (const [index, line] of lines.entries()) {
      const request = isRecord(line) ? line : {};
      const customId = String(request.custom_id);
      const id = newId("batch_req_", 16);
      if (index >= runCount) {
        const error = {
          code: "batch_expired",
          message: "This request could not be executed before the completion window expired.",
        };
        errors.push(JSON.stringify({ id, custom_id: customId, response: null, error }));
        continue;
      }
      const outcome = this.#runLine(
        request.body,
        failIds.has(customId),
        behaviour.failStatus ?? 500,
      );
      const response = {
        status_code: outcome.status,
        request_id: newId("req_", 16),
        body: outcome.body,
      };
      (outcome.status === 200 ? outputs : errors).push(
        JSON.stringify({ id, custom_id: customId, response, error: null }),
      );
      if (outcome.status === 200) inputTokens += outcome.tokens;
    }
    const id = String(batch.id);
    if (outputs.length > 0) batch.output_file_id = this.#writeFile(`${id}_output.jsonl`, outputs);
    if (errors.length > 0) batch.error_file_id = this.#writeFile(`${id}_error.jsonl`, errors);
    const now = unixNow();
    batch.status = expired ? "expired" : "completed";
    batch[expired ? "expired_at" : "completed_at"] = now;
    batch.request_counts = {
      total: lines.length,
      completed: outputs.length,
      failed: errors.length,
    };
    batch.usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens,
    };
  }

  #runLine(
    body: Json | undefined,
    injectFailure: boolean,
    failStatus: number,
  ): { status: number; body: Json; tokens: number } {
    try {
      if (injectFailure) {
        throw new ApiError(failStatus, "Injected failure for this batch request.", {
          type: failStatus >= 500 ? "server_error" : "invalid_request_error",
        });
      }
      const result = createEmbeddings(body, this.#embeddings);
      return { status: 200, body: result, tokens: result.usage.prompt_tokens };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { status: error.status, body: error.toBody(), tokens: 0 };
    }
  }

  #writeFile(filename: string, lines: string[]): string {
    const content = Buffer.from(`${lines.join("\n")}\n`);
    return this.#files.create({ filename, purpose: "batch_output", content }).id;
  }
}
