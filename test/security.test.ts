import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TokenBuckets } from "../src/api/rate-limit.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import { runGleaner } from "./support/server-process.ts";
import { makeTempDir } from "./support/temp-dir.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function assertEnvelope(response: { status: number; body: any; headers: Headers }, type: string) {
  assert.equal(response.body.error.type, type);
  assert.equal(typeof response.body.error.message, "string");
  assert.ok(response.body.error.message.length > 10);
  assert.equal(response.body.error.param, null);
  assert.equal(response.body.error.request_id, response.headers.get("x-request-id"));
}

describe("refusing to serve a network without keys", () => {
  test("loadConfig names the settings that would allow it", () => {
    assert.throws(
      () => loadConfig({ HOST: "0.0.0.0" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /GLEANER_API_KEYS/.test(error.message) &&
        /GLEANER_ALLOW_UNAUTHENTICATED=true/.test(error.message) &&
        /0\.0\.0\.0/.test(error.message),
    );
    assert.equal(loadConfig({ HOST: "0.0.0.0", GLEANER_API_KEYS: "k" }).host, "0.0.0.0");
    assert.equal(loadConfig({ HOST: "0.0.0.0", GLEANER_READ_API_KEYS: "r" }).host, "0.0.0.0");
    assert.equal(
      loadConfig({ HOST: "0.0.0.0", GLEANER_ALLOW_UNAUTHENTICATED: "true" }).allowUnauthenticated,
      true,
    );
    for (const host of ["127.0.0.1", "localhost", "::1"])
      assert.equal(loadConfig({ HOST: host }).host, host);
  });

  test("gleaner serve exits with the message instead of listening", async () => {
    const directory = makeTempDir();
    try {
      const result = await runGleaner(["serve"], {
        HOST: "0.0.0.0",
        GLEANER_DATA_DIR: directory.path,
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /not a loopback address/);
      assert.match(result.stderr, /GLEANER_API_KEYS/);
      assert.match(result.stderr, /GLEANER_ALLOW_UNAUTHENTICATED/);
      assert.doesNotMatch(result.stdout, /listening/);
    } finally {
      directory.remove();
    }
  });

  test("rate-limit and CORS settings are validated", () => {
    assert.throws(() => loadConfig({ GLEANER_RATE_LIMIT_RPS: "-1" }), /GLEANER_RATE_LIMIT_RPS/);
    assert.throws(() => loadConfig({ GLEANER_RATE_LIMIT_BURST: "0" }), /GLEANER_RATE_LIMIT_BURST/);
    const config = loadConfig({
      GLEANER_RATE_LIMIT_RPS: "5",
      GLEANER_CORS_ORIGINS: "https://a.example, https://b.example",
    });
    assert.deepEqual(config.rateLimit, { requestsPerSecond: 5, burst: 10 });
    assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
    assert.equal(loadConfig({}).rateLimit.requestsPerSecond, 0);
    assert.deepEqual(loadConfig({}).corsOrigins, []);
  });
});

describe("API keys", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      GLEANER_API_KEYS: "full-key-1,full-key-2",
      GLEANER_READ_API_KEYS: "read-key",
    });
  });
  after(() => server.close());

  test("missing or wrong keys get 401 in the error envelope", async () => {
    assertEnvelope(await call(server, "GET", "/v1/collections"), "unauthorized");
    const response = await call(server, "GET", "/v1/collections", undefined, bearer("nope"));
    assert.equal(response.status, 401);
    assertEnvelope(response, "unauthorized");
    // keys are compared as fixed-size digests: any length is just a wrong key, never a crash
    for (const key of ["x", "full-key-", "full-key-11", "k".repeat(10_000)]) {
      assert.equal(
        (await call(server, "GET", "/v1/collections", undefined, bearer(key))).status,
        401,
      );
    }
    const basic = await call(server, "GET", "/v1/collections", undefined, {
      authorization: "Basic ZnVsbC1rZXktMTo=",
    });
    assert.equal(basic.status, 401);
  });

  test("read-only keys read and search but get 403 on writes", async () => {
    const read = bearer("read-key");
    assert.equal((await call(server, "GET", "/v1/collections", undefined, read)).status, 200);
    const search = await call(
      server,
      "POST",
      "/v1/collections/default/search",
      { query: "x" },
      read,
    );
    assert.equal(search.status, 200);
    const write = await call(server, "POST", "/v1/collections", { name: "nope" }, read);
    assert.equal(write.status, 403);
    assertEnvelope(write, "forbidden");
    const upload = await call(
      server,
      "POST",
      "/v1/collections/default/documents",
      { text: "hello" },
      read,
    );
    assert.equal(upload.status, 403);
    const remove = await call(server, "DELETE", "/v1/collections/default", undefined, read);
    assert.equal(remove.status, 403);
    assert.equal(
      (await call(server, "GET", "/v1/collections/default", undefined, read)).status,
      200,
    );
  });

  test("every full key writes; /healthz stays open; /metrics needs a key", async () => {
    for (const key of ["full-key-1", "full-key-2"]) {
      const created = await call(server, "POST", "/v1/collections", { name: key }, bearer(key));
      assert.equal(created.status, 201);
    }
    assert.equal((await call(server, "GET", "/healthz")).status, 200);
    assert.equal((await call(server, "GET", "/metrics")).status, 401);
    assert.equal(
      (await call(server, "GET", "/metrics", undefined, bearer("read-key"))).status,
      200,
    );
  });
});

describe("rate limiting", () => {
  test("a token bucket refills at the configured rate up to the burst", () => {
    let now = 0;
    const buckets = new TokenBuckets({ requestsPerSecond: 2, burst: 3, now: () => now });
    assert.deepEqual(
      [1, 2, 3].map(() => buckets.take("a")),
      [0, 0, 0],
    );
    assert.equal(buckets.take("a"), 0.5);
    assert.equal(buckets.take("b"), 0, "callers have their own buckets");
    now = 500;
    assert.equal(buckets.take("a"), 0);
    assert.ok(buckets.take("a") > 0);
    now = 60_000;
    assert.deepEqual(
      [1, 2, 3, 4].map(() => buckets.take("a") === 0),
      [true, true, true, false],
    );
  });

  test("each key gets 429 rate_limited with retry-after once its bucket is empty", async () => {
    const server = await startTestServer({
      GLEANER_API_KEYS: "key-a,key-b",
      GLEANER_RATE_LIMIT_RPS: "0.5",
      GLEANER_RATE_LIMIT_BURST: "3",
    });
    try {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 4; i++) {
        const response = await call(server, "GET", "/v1/collections", undefined, bearer("key-a"));
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.ok(limited);
      assertEnvelope(limited, "rate_limited");
      const retryAfter = Number(limited.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
      // another key has its own bucket; the health check is never limited
      assert.equal(
        (await call(server, "GET", "/v1/collections", undefined, bearer("key-b"))).status,
        200,
      );
      for (let i = 0; i < 5; i++) assert.equal((await call(server, "GET", "/healthz")).status, 200);
      // a wrong key is refused before it can use (or exhaust) anyone's bucket
      assert.equal(
        (await call(server, "GET", "/v1/collections", undefined, bearer("zz"))).status,
        401,
      );
    } finally {
      await server.close();
    }
  });
});

describe("browser-facing protections", () => {
  test("HTML pages carry a content security policy that still allows the docs' own scripts", async () => {
    const server = await startTestServer();
    try {
      const docs = await fetch(`${server.url}/docs`);
      const html = await docs.text();
      const policy = docs.headers.get("content-security-policy") ?? "";
      assert.match(policy, /default-src 'self'/);
      assert.match(policy, /script-src 'self'(;|$)/, "no inline or remote scripts");
      assert.match(policy, /frame-ancestors 'none'/);
      assert.match(policy, /object-src 'none'/);
      assert.equal(docs.headers.get("x-content-type-options"), "nosniff");
      assert.equal(docs.headers.get("x-frame-options"), "SAMEORIGIN");
      assert.equal(docs.headers.get("referrer-policy"), "no-referrer");
      // every script the page loads is a same-origin file, which the policy allows
      const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attributes, body] of scripts) {
        assert.match(attributes ?? "", /src="\/docs\//);
        assert.equal(body?.trim(), "");
        const src = /src="([^"]+)"/.exec(attributes ?? "")?.[1];
        const script = await fetch(`${server.url}${src}`);
        assert.equal(script.status, 200);
        assert.match(script.headers.get("content-type") ?? "", /javascript/);
        await script.arrayBuffer();
      }
      const json = await fetch(`${server.url}/v1/collections`);
      assert.equal(json.headers.get("x-content-type-options"), "nosniff");
      await json.arrayBuffer();
    } finally {
      await server.close();
    }
  });

  test("CORS is off by default", async () => {
    const server = await startTestServer();
    try {
      const preflight = await fetch(`${server.url}/v1/collections`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      await preflight.arrayBuffer();
      assert.equal(preflight.headers.get("access-control-allow-origin"), null);
      const get = await fetch(`${server.url}/v1/collections`, {
        headers: { origin: "https://app.example" },
      });
      await get.arrayBuffer();
      assert.equal(get.headers.get("access-control-allow-origin"), null);
    } finally {
      await server.close();
    }
  });

  test("CORS admits exactly the configured origins, before authentication", async () => {
    const server = await startTestServer({
      GLEANER_CORS_ORIGINS: "https://app.example",
      GLEANER_API_KEYS: "key",
    });
    try {
      const preflight = await fetch(`${server.url}/v1/collections/default/search`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      await preflight.arrayBuffer();
      assert.ok(preflight.status === 204 || preflight.status === 200);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example");
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/i);
      const allowed = await fetch(`${server.url}/v1/collections`, {
        headers: { origin: "https://app.example", ...bearer("key") },
      });
      await allowed.arrayBuffer();
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
      assert.match(allowed.headers.get("access-control-expose-headers") ?? "", /x-request-id/);
      const other = await fetch(`${server.url}/v1/collections`, {
        headers: { origin: "https://evil.example", ...bearer("key") },
      });
      await other.arrayBuffer();
      assert.equal(other.headers.get("access-control-allow-origin"), null);
    } finally {
      await server.close();
    }
  });
});
