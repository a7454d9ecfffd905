import { mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

export { seededRandom } from "../test/support/seeded-random.ts";

/** Where generated vectors, ground truth and bench stores live (git-ignored). */
export const CACHE_DIR = fileURLToPath(new URL("./.cache/", import.meta.url));
/** Shared read-only material next to the repository. */
export const SHARED_DIR = fileURLToPath(new URL("../../shared/", import.meta.url));

/** Creates and returns a directory under the bench cache. */
export function cacheDir(...parts: string[]): string {
  const path = [CACHE_DIR, ...parts].join("/").replace(/\/+/g, "/");
  mkdirSync(path, { recursive: true });
  return path;
}

/** The facts every result block starts with. */
export function machineInfo(): { node: string; cpu: string; cores: number; memoryGb: number } {
  const list = cpus();
  return {
    node: process.version,
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
  };
}

/** Standard normal draws from a uniform stream (Box-Muller). */
export function gaussian(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const u = Math.max(random(), 1e-12);
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

/** Resident set size in MiB. */
export function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

/** The value at quantile q of the samples (nearest rank). */
export function percentile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** A number for a table: thousands separated, fixed decimals. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Progress on stderr, so stdout/BENCHMARKS.md stay clean. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A short label for a count: 10k, 1M. */
export function label(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}
