import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repository = fileURLToPath(new URL("../../", import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a Gleaner CLI command as its own process and collects its output. */
export function runGleaner(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnGleaner(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (piece: Buffer) => {
    stdout += piece.toString();
  });
  child.stderr?.on("data", (piece: Buffer) => {
    stderr += piece.toString();
  });
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

function spawnGleaner(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: repository,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * The real `gleaner serve` process on an ephemeral loopback port; resolves once it prints
 * its address and answers /readyz.
 */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServerProcess> {
  const child = spawnGleaner(["serve"], { GLEANER_LOG_LEVEL: "warn", ...env });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (piece: Buffer) => {
    stdout += piece.toString();
  });
  child.stderr?.on("data", (piece: Buffer) => {
    stderr += piece.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + timeoutMs;
  let url: string | null = null;
  while (url === null) {
    const match = /Gleaner is listening on (http:\/\/[^\s]+)/.exec(stdout);
    if (match?.[1]) url = match[1];
    else if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`gleaner serve did not start:\n${stdout}\n${stderr}`);
    } else await delay(50);
  }
  while ((await fetch(`${url}/readyz`).catch(() => null))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`gleaner serve never became ready:\n${stderr}`);
    await delay(50);
  }
  return {
    url,
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
