/**
 * `npm run bench:load`: the real `gleaner serve` process on loopback, a collection of at least
 * 50k chunks, then 60 s of mixed search and ingest from 32 autocannon connections. Reports
 * throughput, latency percentiles, errors and the server's RSS, and appends a "Load test"
 * section to BENCHMARKS.md.
 *
 * Options: --seconds N (60), --connections N (32), --chunks N (50000), --ingest-share F (0.1),
 * --no-write (print only).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { machineInfo, seededRandom } from "./common.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    connections: { type: "string", default: "32" },
    chunks: { type: "string", default: "50000" },
    "ingest-share": { type: "string", default: "0.1" },
    "no-write": { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const CHUNKS = Number(values.chunks);
const INGEST_SHARE = Number(values["ingest-share"]);
const repository = fileURLToPath(new URL("../", import.meta.url));
const random = seededRandom(7);

/** A Zipf-like vocabulary: a few common words, a long tail of rare ones, as in real text. */
const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "pe", "dan", "gor", "el"];
const VOCABULARY = Array.from({ length: 5000 }, (_, i) => {
  let word = "";
  for (let n = i + 7; n > 0; n = Math.floor(n / SYLLABLES.length)) {
    word += SYLLABLES[n % SYLLABLES.length];
  }
  return word;
});
function word(): string {
  const rank = Math.floor(VOCABULARY.length ** random()) - 1;
  return VOCABULARY[Math.min(rank, VOCABULARY.length - 1)] as string;
}
function sentence(words: number): string {
  return Array.from({ length: words }, word).join(" ");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function rssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const response = await fetch(`${url}/readyz`).catch(() => null);
    if (response?.status === 200) return;
    if (Date.now() > deadline) throw new Error("the server did not become ready");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function post(url: string, body: unknown): Promise<any> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function fill(url: string): Promise<{ chunks: number; seconds: number }> {
  const started = performance.now();
  const batch = 1000;
  let made = 0;
  let done = 0;
  // two bulk requests in flight keep the single ingest queue busy without flooding it
  const next = async (): Promise<void> => {
    while (made < CHUNKS) {
      const first = made;
      made += batch;
      const documents = Array.from({ length: batch }, (_, i) => ({
        id: `seed-${first + i}`,
        title: sentence(4),
        text: `${sentence(50 + Math.floor(random() * 60))}.`,
        metadata: { shard: (first + i) % 16 },
      }));
      await post(`${url}/v1/collections/default/documents`, { documents });
      done += batch;
      process.stdout.write(`\r  ingested ${done} / ${CHUNKS} documents`);
    }
  };
  await Promise.all([next(), next()]);
  process.stdout.write("\n");
  const collection = (await (await fetch(`${url}/v1/collections/default`)).json()) as any;
  return { chunks: collection.chunk_count, seconds: (performance.now() - started) / 1000 };
}

function routeCounts(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of metrics.matchAll(
    /^gleaner_http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\d+)/gm,
  )) {
    const key = `${match[1]} ${match[2]} ${match[3]}`;
    counts[key] = (counts[key] ?? 0) + Number(match[4]);
  }
  return counts;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "gleaner-load-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // the server's log stays after the run (outside the data directory) for post-mortems
  const logPath = join(tmpdir(), `gleaner-load-${process.pid}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    cwd: repository,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      GLEANER_DATA_DIR: join(dataDir, "data"),
      GLEANER_LOG_LEVEL: "info",
    },
    stdio: ["ignore", log, log],
  });
  try {
    child.once("exit", (code, signal) => {
      if (code !== 0) console.error(`\nthe server exited (${code ?? signal}); its log: ${logPath}`);
    });
    await waitReady(url, child);
    console.log(`server pid ${child.pid} on ${url}; filling the default collection`);
    const filled = await fill(url);
    console.log(`  ${filled.chunks} chunks in ${filled.seconds.toFixed(1)} s`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const rssBefore = rssMib(child.pid as number);
    const countsBefore = routeCounts(await (await fetch(`${url}/metrics`)).text());

    let ingests = 0;
    const modes = ["hybrid", "vector", "keyword"] as const;
    console.log(`load: ${SECONDS} s, ${CONNECTIONS} connections, ${INGEST_SHARE * 100}% ingest`);
    // what each failed request died of, so an error count comes with its cause
    const errorKinds = new Map<string, number>();
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url,
          connections: CONNECTIONS,
          duration: SECONDS,
          timeout: 30,
          requests: [
            {
              setupRequest: (request) => {
                if (random() < INGEST_SHARE) {
                  ingests += 1;
                  return {
                    ...request,
                    method: "POST",
                    path: "/v1/collections/default/documents",
                    headers: { "content-type": "application/json" },
                    body: JSON.stringify({ id: `load-${ingests}`, text: `${sentence(80)}.` }),
                  };
                }
                const mode = modes[Math.floor(random() * modes.length)];
                return {
                  ...request,
                  method: "POST",
                  path: "/v1/collections/default/search",
                  headers: { "content-type": "application/json" },
                  body: JSON.stringify({
                    query: sentence(2 + Math.floor(random() * 3)),
                    k: 10,
                    mode,
                  }),
                };
              },
            },
          ],
        },
        (error, finished) => (error ? reject(error) : resolve(finished)),
      );
      instance.on("reqError", (error: NodeJS.ErrnoException) => {
        const kind = error.code ?? error.message;
        errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
      });
    });
    const rssAfter = rssMib(child.pid as number);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const rssSettled = rssMib(child.pid as number);
    const countsAfter = routeCounts(await (await fetch(`${url}/metrics`)).text());
    const mix = Object.entries(countsAfter)
      .filter(([key]) => key.startsWith("POST"))
      .map(([key, count]) => `${key}: ${count - (countsBefore[key] ?? 0)}`)
      .join(", ");
    // autocannon counts a timeout in `errors` too: connection errors are the rest of them
    const connectionErrors = result.errors - result.timeouts;
    const errors = result.errors + result.non2xx;
    const finalChunks = ((await (await fetch(`${url}/v1/collections/default`)).json()) as any)
      .chunk_count;

    const machine = machineInfo();
    const lines = [
      "## Load test",
      "",
      `Run ${new Date().toISOString()} with \`npm run bench:load\` (bench/load-test.ts): the real \`gleaner serve\` process on 127.0.0.1 (local embedder, log level info), autocannon in a separate process-local client, ${machine.cores} cores (${machine.cpu}), Node ${machine.node}. The machine is shared with other work, so absolute numbers vary between runs.`,
      "",
      "| setting | value |",
      "| --- | --- |",
      `| collection | ${filled.chunks.toLocaleString("en")} chunks before the run (filled by bulk JSON in ${filled.seconds.toFixed(0)} s), ${Number(finalChunks).toLocaleString("en")} after |`,
      `| load | ${SECONDS} s, ${CONNECTIONS} connections, ${Math.round((1 - INGEST_SHARE) * 100)}% search (hybrid / vector / keyword, k=10) and ${Math.round(INGEST_SHARE * 100)}% single-document ingest (wait=true) |`,
      `| requests | ${result.requests.total.toLocaleString("en")} (${result.requests.average.toFixed(0)} req/s average) |`,
      `| by route | ${mix} |`,
      `| latency | p50 ${result.latency.p50} ms, p90 ${result.latency.p90} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms |`,
      `| errors | ${errors} (connection errors ${connectionErrors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx})${errorKinds.size > 0 ? `; causes: ${[...errorKinds].map(([kind, count]) => `${kind} ×${count}`).join(", ")}` : ""} |`,
      `| server RSS | ${rssBefore} MiB before, ${rssAfter} MiB right after, ${rssSettled} MiB 10 s later |`,
      "",
    ];
    const section = lines.join("\n");
    console.log(`\n${section}`);
    if (!values["no-write"]) appendSection(section);
    if (errors > 0) process.exitCode = 1;
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Replaces this bench's own section (wherever it is) with the new one at the end. */
function appendSection(section: string): void {
  const path = join(repository, "BENCHMARKS.md");
  let text = existsSync(path) ? readFileSync(path, "utf8") : "# Gleaner benchmarks\n";
  const start = text.indexOf("\n## Load test\n");
  if (start !== -1) {
    const end = text.indexOf("\n## ", start + 1);
    text = text.slice(0, start) + (end === -1 ? "\n" : text.slice(end));
  }
  writeFileSync(path, `${text.trimEnd()}\n\n${section}`);
}

await main();
