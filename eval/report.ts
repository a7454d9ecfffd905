import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { DatasetResult } from "./evaluate.ts";

const START = "<!-- eval:results:start -->";
const END = "<!-- eval:results:end -->";

const fixed = (value: number, digits: number): string => value.toFixed(digits);

/** The machine a run was taken on, in one line. */
export function describeMachine(): string {
  const cpu = cpus();
  const gib = totalmem() / 1024 ** 3;
  return `${cpu[0]?.model.trim() ?? "unknown CPU"} × ${cpu.length}, ${gib.toFixed(1)} GiB RAM, ${process.platform}/${process.arch}, Node ${process.version}`;
}

/** Results as Markdown: a quality + latency table and an ingest table. */
export function renderTables(results: readonly DatasetResult[]): string {
  const lines = [
    "| dataset | system | nDCG@10 | Recall@100 | MRR@10 | MAP@100 | search p50 ms | p99 ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const result of results) {
    for (const row of result.rows) {
      lines.push(
        `| ${result.dataset} | ${row.system} | ${fixed(row.ndcg10, 3)} | ${fixed(row.recall100, 3)} | ${fixed(row.mrr10, 3)} | ${fixed(row.map100, 3)} | ${fixed(row.p50Ms, 1)} | ${fixed(row.p99Ms, 1)} |`,
      );
    }
  }
  lines.push(
    "",
    "| dataset | queries | documents | chunks | ingest s | docs/s | chunks/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const result of results) {
    const seconds = Math.max(result.ingestSeconds, 1e-9);
    lines.push(
      `| ${result.dataset} | ${result.rows[0]?.queries ?? 0} | ${result.documents} | ${result.chunks} | ${fixed(result.ingestSeconds, 1)} | ${fixed(result.documents / seconds, 0)} | ${fixed(result.chunks / seconds, 0)} |`,
    );
  }
  return lines.join("\n");
}

/** The generated section: tables plus how, when and where they were measured. */
export function renderSection(
  results: readonly DatasetResult[],
  meta: { command: string; target: string; date?: Date },
): string {
  return [
    START,
    "## Latest run",
    "",
    `- Command: \`${meta.command}\``,
    `- Target: ${meta.target}`,
    `- Date: ${(meta.date ?? new Date()).toISOString()}`,
    `- Machine: ${describeMachine()}`,
    "",
    renderTables(results),
    END,
  ].join("\n");
}

/** Replaces the generated section of EVAL.md (the hand-written notes around it stay). */
export function writeEvalMarkdown(path: string, section: string): void {
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Retrieval quality\n\n";
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + section + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
