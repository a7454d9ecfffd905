import { parseArgs } from "node:util";
import type { AnswerResult } from "../answer/answer-service.ts";
import type { ReasoningEffortOption, VerbosityOption } from "../answer/responses-answerer.ts";
import { answerJson } from "../api/serializers.ts";
import { createLogger, createRuntime } from "../bootstrap.ts";
import { DEFAULT_COLLECTION } from "../collection-settings.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";

export const ASK_USAGE =
  'ask "<question>" [--collection C] [--k N] [--json] [--no-stream] [--model M]\n' +
  "      [--previous RESPONSE_ID] [--effort minimal|low|medium|high] [--verbosity low|medium|high]";

const EFFORTS = ["minimal", "low", "medium", "high"] as const;
const VERBOSITIES = ["low", "medium", "high"] as const;

function usage(message: string): AppError {
  return new AppError("invalid_request", `${message}\nUsage: gleaner ${ASK_USAGE}`);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string) {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw usage(`${flag} is one of ${allowed.join(", ")}.`);
  }
  return value as T;
}

/** `gleaner ask`: a grounded answer from the same service as the API, streamed to stdout. */
export async function askCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      collection: { type: "string", short: "c", default: DEFAULT_COLLECTION },
      k: { type: "string", default: "8" },
      json: { type: "boolean", default: false },
      "no-stream": { type: "boolean", default: false },
      model: { type: "string" },
      previous: { type: "string" },
      effort: { type: "string" },
      verbosity: { type: "string" },
    },
  });
  const question = positionals.join(" ").trim();
  if (!question) throw usage('ask needs a question, e.g. gleaner ask "what limits nozzle life?"');
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw usage("--k is a whole number from 1 to 100.");
  const reasoningEffort: ReasoningEffortOption | undefined = oneOf(
    values.effort,
    EFFORTS,
    "--effort",
  );
  const verbosity: VerbosityOption | undefined = oneOf(
    values.verbosity,
    VERBOSITIES,
    "--verbosity",
  );
  const stream = !values.json && !values["no-stream"];

  const logger = createLogger(
    { logLevel: config.logLevel === "info" ? "warn" : config.logLevel },
    2,
  );
  const runtime = createRuntime(config, { logger });
  const cancel = new AbortController();
  const onInterrupt = (): void => cancel.abort();
  process.once("SIGINT", onInterrupt);
  await runtime.start({ processQueue: false });
  try {
    const prepared = await runtime.services.answers.prepare({
      collection: values.collection,
      question,
      k,
      stream,
      previousResponseId: values.previous,
      model: values.model,
      reasoningEffort,
      verbosity,
      signal: cancel.signal,
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(answerJson(await prepared.run()), null, 2)}\n`);
      return 0;
    }
    let streamed: string | null = null;
    const result = await prepared.run(
      stream
        ? (text) => {
            streamed = (streamed ?? "") + text;
            process.stdout.write(text);
          }
        : undefined,
    );
    if (streamed !== null) process.stdout.write("\n");
    process.stdout.write(`${formatAnswer(result, streamed)}\n`);
    return 0;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    await runtime.stop();
  }
}

/**
 * The verified answer, its citations and what it cost, for a terminal. After a stream the
 * answer is repeated only when verification changed it (markers renumbered or dropped).
 */
export function formatAnswer(result: AnswerResult, streamed: string | null): string {
  const lines: string[] = [];
  if (streamed === null) lines.push(result.answer);
  else if (streamed.trim() !== result.answer) lines.push("", `Verified: ${result.answer}`);
  if (result.status !== "completed") {
    lines.push(
      `(${result.status}${result.incompleteReason ? `: ${result.incompleteReason}` : ""})`,
    );
  }
  if (result.citations.length > 0) lines.push("");
  for (const citation of result.citations) {
    const pages =
      citation.pageStart === null
        ? ""
        : `, p.${citation.pageStart}${citation.pageEnd !== null && citation.pageEnd !== citation.pageStart ? `-${citation.pageEnd}` : ""}`;
    const quote = citation.quote.replace(/\s+/g, " ");
    lines.push(`[${citation.n}] ${citation.title ?? citation.documentId}${pages}: "${quote}"`);
  }
  const { usage } = result;
  const cost = usage.costUsd === null ? "unknown cost" : `$${usage.costUsd.toFixed(6)}`;
  lines.push(
    "",
    `${result.mode}${result.model ? ` (${result.model})` : ""} · ${usage.inputTokens} in / ` +
      `${usage.outputTokens} out (${usage.reasoningTokens} reasoning) / ${usage.embeddingTokens} ` +
      `embedding tokens · ${cost} · id ${result.id}`,
  );
  return lines.join("\n");
}
