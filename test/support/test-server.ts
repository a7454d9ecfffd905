import { pino } from "pino";
import { createRuntime, type Runtime } from "../../src/bootstrap.ts";
import { loadConfig } from "../../src/config.ts";
import type { EmbeddingModel } from "../../src/embed/embedding-model.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { makeTempDir } from "./temp-dir.ts";

export interface TestServer {
  url: string;
  dataDir: string;
  runtime: Runtime;
  /** Number of embedding provider calls made so far (all models). */
  embedCalls(): number;
  /** Stops and starts the server over the same data directory. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The real HTTP server on an ephemeral loopback port over a temporary data directory. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = makeTempDir();
  let calls = 0;
  let running: RunningServer;
  let runtime: Runtime;
  const boot = async (): Promise<void> => {
    const config = loadConfig({
      GLEANER_DATA_DIR: dir.path,
      HOST: "127.0.0.1",
      PORT: "0",
      GLEANER_LOG_LEVEL: "silent",
      ...env,
    });
    runtime = createRuntime(config, { logger: pino({ level: "silent" }) });
    const registry = runtime.services.embedders;
    const modelFor = registry.modelFor.bind(registry);
    registry.modelFor = (embedding) => countCalls(modelFor(embedding), () => calls++);
    running = await startServer(runtime);
  };
  await boot();
  const server: TestServer = {
    get url() {
      return `http://127.0.0.1:${running.port}`;
    },
    dataDir: dir.path,
    get runtime() {
      return runtime;
    },
    embedCalls: () => calls,
    async restart() {
      await running.close();
      await boot();
    },
    async close() {
      await running.close();
      dir.remove();
    },
  };
  return server;
}

function countCalls(model: EmbeddingModel, onCall: () => void): EmbeddingModel {
  return new Proxy(model, {
    get(target, property, receiver) {
      if (property === "doEmbed") {
        return (request: Parameters<EmbeddingModel["doEmbed"]>[0]) => {
          onCall();
          return target.doEmbed(request);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** JSON request helper: returns status and parsed body. */
export async function call(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Uploads a file as multipart/form-data. */
export async function uploadFile(
  server: { url: string },
  collection: string,
  file: { name: string; bytes: Uint8Array; type?: string },
  fields: Record<string, string> = {},
  query = "",
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.set(
    "file",
    new Blob([file.bytes], { type: file.type ?? "application/octet-stream" }),
    file.name,
  );
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  const response = await fetch(`${server.url}/v1/collections/${collection}/documents${query}`, {
    method: "POST",
    body: form,
  });
  return { status: response.status, body: await response.json() };
}
