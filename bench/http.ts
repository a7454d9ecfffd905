import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { fmt, log, table } from "./common.ts";
import { syntheticQueries } from "./corpus.ts";

export interface HttpRow {
  target: string;
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Server process CPU time per request (user + system), from /proc: robust to other load. */
  serverCpuMs: number;
}

const SERVER = fileURLToPath(new URL("./http-server.ts", import.meta.url));

async function startChild(
  dataDir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; barePort: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, dataDir], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const parsed = JSON.parse(line) as { port: number; barePort: number };
    return { child, ...parsed };
  }
  throw new Error("bench: the HTTP server child exited before listening");
}

const TICKS_PER_SECOND = 100;

/** CPU milliseconds a process has used so far (Linux /proc; NaN elsewhere). */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11], fields[12] are utime and stime (the 14th and 15th of the whole line)
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
  } catch {
    return Number.NaN;
  }
}

/** CPU milliseconds used so far by all the given processes. */
function totalCpuMs(pids: (number | undefined)[]): number {
  let total = 0;
  for (const pid of pids) total += processCpuMs(pid);
  return total;
}

/** Load on one URL, or spread round-robin over several (connections alternate between them). */
async function cannon(
  url: string | string[],
  connections: number,
  seconds: number,
  body: () => string,
  pids: (number | undefined)[],
): Promise<Omit<HttpRow, "target" | "connections">> {
  const cpuBefore = totalCpuMs(pids);
  const result = await autocannon({
    // autocannon takes an array of URLs (lib/url.js), though its types say one string
    url: url as string,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    serverCpuMs: (totalCpuMs(pids) - cpuBefore) / Math.max(1, result.requests.total),
  };
}

export interface HttpOptions {
  /** Extra environment for the server process, e.g. GLEANER_DATABASE_URL for a replica. */
  env?: Record<string, string>;
  connections?: number[];
  /**
   * Server processes to start (default 1). More than one shares one database (set
   * GLEANER_DATABASE_URL in `env`); each gets its own data directory beside `dataDir`, and the
   * load is spread over them round-robin. CPU per request is summed over all of them.
   */
  replicas?: number;
}

/** Section 2: autocannon against search (three modes) and a bare Hono route, on loopback. */
export async function runHttp(
  dataDir: string,
  collection: string,
  seconds: number,
  options: HttpOptions = {},
): Promise<HttpRow[]> {
  const replicas = options.replicas ?? 1;
  const children = await Promise.all(
    Array.from({ length: replicas }, (_, i) =>
      startChild(i === 0 ? dataDir : `${dataDir}-replica-${i}`, options.env ?? {}),
    ),
  );
  const pids = children.map(({ child }) => child.pid);
  const urls = (path: (child: { port: number; barePort: number }) => string) =>
    replicas === 1 ? path(children[0] as { port: number; barePort: number }) : children.map(path);
  const queries = syntheticQueries(500);
  let next = 0;
  const searchBody = (mode: string) => () =>
    JSON.stringify({ query: queries[next++ % queries.length], k: 10, mode });
  const targets: { target: string; url: string | string[]; body: () => string }[] = [
    {
      target: "bare Hono route",
      url: urls(({ barePort }) => `http://127.0.0.1:${barePort}/bare`),
      body: searchBody("bare"),
    },
    ...["keyword", "vector", "hybrid"].map((mode) => ({
      target: `search ${mode}`,
      url: urls(({ port }) => `http://127.0.0.1:${port}/v1/collections/${collection}/search`),
      body: searchBody(mode),
    })),
  ];
  const rows: HttpRow[] = [];
  try {
    for (const connections of options.connections ?? [10, 50]) {
      for (const { target, url, body } of targets) {
        log(`HTTP ${target}, ${connections} connections, ${seconds} s`);
        rows.push({
          target,
          connections,
          ...(await cannon(url, connections, seconds, body, pids)),
        });
      }
    }
  } finally {
    for (const { child } of children) child.kill("SIGTERM");
  }
  return rows;
}

/** Markdown for section 2. */
export function httpMarkdown(rows: HttpRow[]): string {
  return table(
    [
      "target",
      "connections",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "non-2xx",
      "vs bare",
      "server CPU ms/req",
      "vs bare (CPU)",
    ],
    rows.map((row) => {
      const bare = rows.find(
        (r) => r.target === "bare Hono route" && r.connections === row.connections,
      );
      return [
        row.target,
        row.connections,
        fmt(row.requestsPerSecond),
        fmt(row.p50, 1),
        fmt(row.p99, 1),
        row.errors,
        row.non2xx,
        bare ? `${((row.requestsPerSecond / bare.requestsPerSecond) * 100).toFixed(0)}%` : "–",
        fmt(row.serverCpuMs, 3),
        bare ? `${((bare.serverCpuMs / row.serverCpuMs) * 100).toFixed(0)}%` : "–",
      ];
    }),
  );
}
