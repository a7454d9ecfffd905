import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { pino } from "pino";
import { createRuntime } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer } from "./support/test-server.ts";

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe("observability", () => {
  test("/metrics reports requests per route, latency, queue depth, collection sizes and tokens", async () => {
    const server = await startTestServer();
    try {
      await call(server, "POST", "/v1/collections", { name: "papers" });
      const upload = await call(server, "POST", "/v1/collections/papers/documents", {
        documents: [
          { id: "a", text: "Boundary layer transition on a flat plate." },
          { id: "b", text: "Shock wave and boundary layer interaction." },
        ],
      });
      assert.equal(upload.status, 201);
      for (let i = 0; i < 3; i++) {
        await call(server, "POST", "/v1/collections/papers/search", { query: "boundary layer" });
      }
      await call(server, "GET", "/v1/collections/papers/documents/missing");
      await call(server, "GET", "/no/such/route");

      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const search = { method: "POST", route: "/v1/collections/:name/search", status: "200" };
      assert.equal(sample(text, "gleaner_http_requests_total", search), 3);
      assert.equal(
        sample(text, "gleaner_http_requests_total", {
          route: "/v1/collections/:name/documents/:id",
          status: "404",
        }),
        1,
        "labels are route patterns, not raw paths",
      );
      assert.equal(sample(text, "gleaner_http_requests_total", { route: "unmatched" }), 1);
      assert.doesNotMatch(text, /documents\/missing/);
      assert.equal(
        sample(text, "gleaner_http_request_duration_seconds_count", {
          route: "/v1/collections/:name/search",
        }),
        3,
      );
      assert.equal(
        sample(text, "gleaner_http_request_duration_seconds_bucket", {
          route: "/v1/collections/:name/search",
          le: "+Inf",
        }),
        3,
      );
      assert.equal(sample(text, "gleaner_ingest_queue_depth"), 0);
      assert.equal(sample(text, "gleaner_documents", { collection: "papers" }), 2);
      assert.equal(sample(text, "gleaner_chunks", { collection: "papers" }), 2);
      assert.equal(sample(text, "gleaner_documents", { collection: "default" }), 0);
      assert.ok(
        (sample(text, "gleaner_embedding_tokens_total", { collection: "papers" }) ?? 0) > 5,
      );
      assert.equal(sample(text, "gleaner_ingest_jobs_total", { outcome: "ready" }), 2);
      assert.match(text, /# TYPE gleaner_upstream_errors_total counter/);
      assert.ok((sample(text, "gleaner_process_resident_memory_bytes") ?? 0) > 0);
    } finally {
      await server.close();
    }
  });

  test("finished ingest jobs are counted by outcome and timed", async () => {
    const server = await startTestServer();
    try {
      // a document with no text fails in the worker (422), after it was accepted
      const failed = await call(server, "POST", "/v1/collections/default/documents", {
        text: "   \n  ",
      });
      assert.equal(failed.status, 422);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.equal(sample(text, "gleaner_ingest_jobs_total", { outcome: "unprocessable" }), 1);
      assert.equal(sample(text, "gleaner_ingest_duration_seconds_count"), 1);
    } finally {
      await server.close();
    }
  });

  test("every log line of a request carries its request id, also echoed in errors", async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const directory = makeTempDir();
    const config = loadConfig({ GLEANER_DATA_DIR: directory.path, PORT: "0" });
    const runtime = createRuntime(config, { logger: pino({ level: "info" }, sink) });
    const running = await startServer(runtime);
    try {
      const url = `http://127.0.0.1:${running.port}`;
      const ok = await fetch(`${url}/v1/collections`);
      await ok.arrayBuffer();
      const bad = await fetch(`${url}/v1/collections`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{nope",
      });
      const body: any = await bad.json();
      assert.equal(bad.status, 400);
      const badId = bad.headers.get("x-request-id");
      assert.ok(badId);
      assert.equal(body.error.request_id, badId);
      const given = await fetch(`${url}/v1/collections`, {
        headers: { "x-request-id": "trace-123" },
      });
      await given.arrayBuffer();
      assert.equal(given.headers.get("x-request-id"), "trace-123");

      const requestLines = lines.filter((line) => line.msg === "request");
      assert.equal(requestLines.length, 3);
      for (const line of requestLines) {
        assert.equal(typeof line.request_id, "string");
        assert.equal(typeof line.time, "number");
        assert.equal(typeof line.level, "number");
      }
      assert.deepEqual(
        requestLines.map((line) => line.request_id),
        [ok.headers.get("x-request-id"), badId, "trace-123"],
      );
      assert.equal(requestLines[1]?.status, 400);
    } finally {
      await running.close();
      directory.remove();
    }
  });
});
