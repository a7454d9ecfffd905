import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { COLLECTION_NAME_PATTERN } from "../src/api/schemas.ts";
import { arbitraryFromSchema, mutated, type SchemaNode } from "./support/json-schema-arbitrary.ts";
import { delay } from "./support/server-process.ts";
import { call, startTestServer, type TestServer } from "./support/test-server.ts";

const RUNS = Number(process.env.GLEANER_FUZZ_RUNS ?? 1000);
// Random in CI; GLEANER_FUZZ_SEED=<seed> replays a reported run case for case.
const SEED = Number(
  process.env.GLEANER_FUZZ_SEED ??
    Math.floor(Math.random() * 2 ** 31) * (Math.random() < 0.5 ? -1 : 1),
);

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: string; schema: SchemaNode }[];
  json?: SchemaNode;
  multipart?: SchemaNode;
}

interface FuzzRequest {
  label: string;
  method: string;
  path: string;
  contentType: string | undefined;
  body: string | Uint8Array | FormData | undefined;
}

const GARBAGE_TYPES = [
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=zz",
  "application/octet-stream",
  "application/json; charset=latin1",
  "",
];

const rawGarbage: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 400 }),
  fc.constantFrom(
    '{"query":',
    "[]",
    "null",
    "0",
    '"text"',
    '{"__proto__":{"polluted":true},"query":"x"}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    "[".repeat(20_000),
    `{"text":"${"\\ud800".repeat(50)}"}`,
    '{"text":"a","text":"b"}',
    "\uFEFF{}",
  ),
);

/** Path parameters: real names and ids, names that do not exist, and junk that must be refused. */
const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("default", "fuzz") },
  { weight: 1, arbitrary: fc.constant("no-such-collection") },
  { weight: 1, arbitrary: fc.stringMatching(COLLECTION_NAME_PATTERN) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
);
/** Deleting the two working collections would turn the rest of the run into 404s. */
const disposableNames = fc.oneof(
  fc.constantFrom("scratch", "no-such-collection"),
  fc.stringMatching(COLLECTION_NAME_PATTERN),
  fc.string({ maxLength: 80 }),
);
const ids = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("doc-1", "doc-2", "doc-3") },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
);

function operationsFrom(spec: any): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries<any>(spec.paths)) {
    if (!path.startsWith("/v1/")) continue;
    for (const [method, operation] of Object.entries<any>(methods)) {
      const content = operation.requestBody?.content ?? {};
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        json: content["application/json"]?.schema,
        multipart: content["multipart/form-data"]?.schema,
      });
    }
  }
  return operations;
}

function requestsFor(
  operation: Operation,
  components: Record<string, SchemaNode>,
): fc.Arbitrary<FuzzRequest> {
  const query = fc.tuple(
    ...operation.parameters
      .filter((parameter) => parameter.in === "query")
      .map((parameter) =>
        fc.option(
          fc.tuple(
            fc.constant(parameter.name),
            fc.oneof(
              {
                weight: 4,
                arbitrary: arbitraryFromSchema(parameter.schema ?? {}, components).map(String),
              },
              { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
            ),
          ),
          { nil: undefined, freq: 2 },
        ),
      ),
  );
  const deletesCollection = operation.method === "DELETE" && operation.path.endsWith("{name}");
  const path = fc
    .tuple(deletesCollection ? disposableNames : names, ids, query)
    .map(([name, id, pairs]) => {
      const base = operation.path
        .replace("{name}", encodeURIComponent(name))
        .replace("{id}", encodeURIComponent(id));
      const search = new URLSearchParams(pairs.filter((pair) => pair !== undefined));
      return search.size > 0 ? `${base}?${search}` : base;
    });

  const bodies: fc.Arbitrary<Pick<FuzzRequest, "contentType" | "body">>[] = [];
  if (operation.json) {
    const valid = arbitraryFromSchema(operation.json, components);
    const json = fc.oneof(
      { weight: 5, arbitrary: valid },
      { weight: 3, arbitrary: mutated(valid) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    );
    bodies.push(
      json.map((value) => ({ contentType: "application/json", body: JSON.stringify(value) })),
      fc.record({ contentType: fc.constantFrom(...GARBAGE_TYPES), body: rawGarbage }),
      fc.record({ contentType: fc.constant("application/json"), body: rawGarbage }),
    );
  }
  if (operation.multipart) {
    bodies.push(multipartBodies());
    // re-uploads of stored documents: the same text (no-op), new text, and text that fails
    // in the worker, which must leave the stored version exactly as it was
    const reupload = fc.record({
      id: fc.constantFrom("doc-1", "doc-2"),
      text: fc.constantFrom(
        " \n\t ",
        "   ",
        "Boundary layer transition on a flat plate.",
        "jet noise",
      ),
    });
    bodies.push(
      reupload.map((value) => ({ contentType: "application/json", body: JSON.stringify(value) })),
    );
  }
  if (bodies.length === 0) bodies.push(fc.constant({ contentType: undefined, body: undefined }));
  // fetch sends no body with GET; other methods get garbage where none is expected
  if (!operation.json && operation.method !== "GET") {
    bodies.push(fc.record({ contentType: fc.constantFrom(...GARBAGE_TYPES), body: rawGarbage }));
  }
  // the first kind (schema-shaped JSON, or the multipart form) is the one worth most cases
  const [first, ...others] = bodies as [
    fc.Arbitrary<Pick<FuzzRequest, "contentType" | "body">>,
    ...fc.Arbitrary<Pick<FuzzRequest, "contentType" | "body">>[],
  ];
  const weighted = fc.oneof(
    { weight: 3 * Math.max(1, others.length), arbitrary: first },
    ...others.map((arbitrary) => ({ weight: 2, arbitrary })),
  );
  return fc.tuple(path, weighted).map(([url, body]) => ({
    label: `${operation.method} ${operation.path}`,
    method: operation.method,
    path: url,
    ...body,
  }));
}

function multipartBodies(): fc.Arbitrary<Pick<FuzzRequest, "contentType" | "body">> {
  const field = fc.option(
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom("doc-1", "doc-2", '{"team":"a"}', "[1]", '{"a":', "x".repeat(300)),
    ),
    { nil: undefined },
  );
  return fc
    .record({
      file: fc.option(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.constantFrom(
            "boundary layer shock wave",
            "%PDF-1.7\n%garbage",
            "PK\u0003\u0004zz",
            "<html>x",
          ),
        ),
        { nil: undefined },
      ),
      filename: fc.constantFrom("a.txt", "a.pdf", "a.docx", "a.html", "", "../../etc/passwd"),
      type: fc.constantFrom("text/plain", "application/pdf", "", "application/x-garbage"),
      id: field,
      title: field,
      metadata: field,
    })
    .map(({ file, filename, type, id, title, metadata }) => {
      const form = new FormData();
      if (file !== undefined) form.set("file", new Blob([file], { type }), filename);
      if (id !== undefined) form.set("id", id);
      if (title !== undefined) form.set("title", title);
      if (metadata !== undefined) form.set("metadata", metadata);
      return { contentType: undefined, body: form };
    });
}

/** What a client can see: every collection and every document in it, and the queue. */
async function snapshot(server: TestServer): Promise<string> {
  const collections = await call(server, "GET", "/v1/collections");
  const parts: unknown[] = [collections.body];
  for (const collection of collections.body.data) {
    const documents = await call(
      server,
      "GET",
      `/v1/collections/${collection.name}/documents?limit=1000`,
    );
    // updated_at moves while a replacement is queued, even one that then fails and is undone
    parts.push(documents.body.data?.map(({ updated_at, ...rest }: any) => rest) ?? documents.body);
  }
  parts.push(await server.runtime.services.ingest.queueDepth());
  return JSON.stringify(parts);
}

/** Lets queued work from earlier (accepted) requests finish, so it is not mistaken for a change. */
async function settled(server: TestServer): Promise<void> {
  for (let i = 0; i < 200 && (await server.runtime.services.ingest.queueDepth()) > 0; i++) {
    await delay(25);
  }
}

/** The request body as it can be pasted into a bug report. */
function describeBody(request: FuzzRequest): string {
  const { body, contentType } = request;
  if (body === undefined) return "(no body)";
  if (typeof body === "string") return `${contentType ?? ""} ${JSON.stringify(body.slice(0, 500))}`;
  if (body instanceof Uint8Array) return `${contentType ?? ""} ${body.byteLength} bytes`;
  return `multipart fields ${JSON.stringify([...body.keys()])}`;
}

describe("property-based fuzzing of every endpoint", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    assert.equal((await call(server, "POST", "/v1/collections", { name: "fuzz" })).status, 201);
    const seeded = await call(server, "POST", "/v1/collections/fuzz/documents", {
      documents: [
        {
          id: "doc-1",
          text: "Boundary layer transition on a flat plate.",
          metadata: { team: "a" },
        },
        { id: "doc-2", text: "Shock wave reflection in a duct.", metadata: { team: "b" } },
      ],
    });
    assert.equal(seeded.status, 201);
  });
  after(() => server.close());

  test("never a 500, and a rejected request leaves the store as it was", {
    timeout: 300_000,
  }, async (t) => {
    const spec = (await call(server, "GET", "/openapi.json")).body;
    const components: Record<string, SchemaNode> = spec.components?.schemas ?? {};
    const operations = operationsFrom(spec);
    assert.ok(operations.length >= 8, "the OpenAPI description lists the endpoints");
    const requests = fc.oneof(...operations.map((operation) => requestsFor(operation, components)));
    const statuses = new Map<string, number>();
    let cases = 0;
    console.log(`fuzz: seed ${SEED} (replay with GLEANER_FUZZ_SEED=${SEED})`);
    t.diagnostic(`seed ${SEED}`);
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        await settled(server);
        const before = await snapshot(server);
        const headers: Record<string, string> = {};
        if (request.contentType !== undefined) headers["content-type"] = request.contentType;
        const response = await fetch(`${server.url}${request.path}`, {
          method: request.method,
          headers,
          body: request.body,
        });
        const text = await response.text();
        cases += 1;
        const key = `${request.label} → ${response.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        assert.ok(
          response.status < 500,
          `${key} (seed ${SEED}): ${request.method} ${request.path} ${describeBody(request)} → ${text.slice(0, 300)}`,
        );
        if (response.status >= 400) {
          const body = JSON.parse(text);
          assert.equal(typeof body.error.message, "string");
          assert.equal(
            await snapshot(server),
            before,
            `${key} changed the store: ${text.slice(0, 200)}`,
          );
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    assert.equal(cases, RUNS);
    t.diagnostic(`${cases} fuzz cases over ${operations.length} endpoints`);
    t.diagnostic(
      [...statuses]
        .sort()
        .map(([key, count]) => `${key}: ${count}`)
        .join("\n"),
    );
    console.log(
      `fuzz: ${cases} cases over ${operations.length} endpoints, no 500s, rejected requests changed nothing`,
    );
    // the polluting bodies above reached JSON.parse; nothing leaked onto shared prototypes
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
