import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, label, log, table } from "./common.ts";

interface ChildResult {
  openMs: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  reports: { outcome: string; vectors: number; milliseconds: number }[];
  shaMs: number;
  shaBytes: number;
}

export interface StartupResult {
  n: number;
  loaded: ChildResult;
  rebuilt: ChildResult;
}

const CHILD = fileURLToPath(new URL("./startup-child.ts", import.meta.url));

function openInChild(dataDir: string): ChildResult {
  const output = execFileSync(process.execPath, ["--import", "tsx", CHILD, dataDir], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split("\n").at(-1) as string) as ChildResult;
}

/** Section 4: start-up of a store holding n vectors, with the index current and with it missing. */
export function runStartup(n: number, dataDir: string): StartupResult {
  log(`start-up n=${label(n)}: index present`);
  const loaded = openInChild(dataDir);
  log(`start-up n=${label(n)}: index files removed (rebuild)`);
  const indexes = join(dataDir, "indexes");
  for (const file of readdirSync(indexes)) rmSync(join(indexes, file), { force: true });
  const rebuilt = openInChild(dataDir);
  return { n, loaded, rebuilt };
}

/** Markdown for section 4. */
export function startupMarkdown(results: StartupResult[]): string {
  const rows = results.flatMap((result) =>
    [result.loaded, result.rebuilt].map((child) => [
      label(result.n),
      child.reports.map((report) => report.outcome).join(", "),
      fmt(child.openMs / 1000, 2),
      fmt(child.rssAfterMb),
      fmt(child.rssAfterMb - child.rssBeforeMb),
      fmt(child.shaMs),
      fmt(child.shaBytes / 2 ** 20, 1),
      fmt(child.shaBytes / 2 ** 20 / (child.shaMs / 1000)),
    ]),
  );
  return table(
    [
      "N vectors",
      "index",
      "store.open() s",
      "RSS after open MiB",
      "RSS Δ MiB",
      "SHA-256 of index ms",
      "index MiB",
      "SHA-256 MiB/s",
    ],
    rows,
  );
}
