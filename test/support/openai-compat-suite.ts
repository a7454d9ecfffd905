/*
 * The OpenAI-compatible surface driven by the official openai SDK (baseURL pointed at Gleaner's
 * /openai/v1) against the real server on an ephemeral port; every body is checked against the
 * official OpenAPI schemas. No upstream key: answers are extractive, in the same shape.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI, { toFile } from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { openaiSpec } from "./openai-spec.ts";
import { makePdf } from "./pdf-fixtures.ts";
import { call, type TestServer } from "./test-server.ts";

const FULL_KEY = "full-key-for-tests";
const READ_KEY = "read-key-for-tests";
const spec = openaiSpec();
if (spec.skipReason) console.log(`schema checks skipped: ${spec.skipReason}`);

/**
 * The suite over a server `start` makes with the given environment (keys), so it runs on each
 * storage backend.
 */
export function runOpenAICompatSuite(
  backend: string,
  start: (env: Record<string, string>) => Promise<TestServer>,
): void {
  let server: TestServer;
  let client: OpenAI;

  before(async () => {
    server = await start({ GLEANER_API_KEYS: FULL_KEY, GLEANER_READ_API_KEYS: READ_KEY });
    client = sdk(FULL_KEY);
  });
  after(async () => {
    await server?.close();
  });

  function sdk(apiKey: string): OpenAI {
    return new OpenAI({
      apiKey,
      baseURL: `${server.url}/openai/v1`,
      maxRetries: 0,
      timeout: 10_000,
    });
  }

  /** The raw JSON body of an SDK call, for schema checks of list pages. */
  async function rawJson(promise: { asResponse(): Promise<Response> }): Promise<unknown> {
    return (await promise.asResponse()).json();
  }

  /** The spec's schema of each event type this surface emits. */
  const EVENT_SCHEMAS: Record<string, string> = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.file_search_call.in_progress": "ResponseFileSearchCallInProgressEvent",
    "response.file_search_call.searching": "ResponseFileSearchCallSearchingEvent",
    "response.file_search_call.completed": "ResponseFileSearchCallCompletedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.annotation.added": "ResponseOutputTextAnnotationAddedEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    error: "ResponseErrorEvent",
  };

  const text = (value: string) => toFile(Buffer.from(value), "notes.txt", { type: "text/plain" });

  async function uploadText(name: string, body: string) {
    const file = await client.files.create({
      file: await toFile(Buffer.from(body), name, { type: "text/plain" }),
      purpose: "assistants",
    });
    spec.assert("OpenAIFile", file);
    return file;
  }

  describe(`${backend}: files`, () => {
    test("upload, get, list with pagination, content, delete", async () => {
      const first = await uploadText("a.txt", "alpha file");
      const second = await uploadText("b.txt", "beta file");
      assert.match(first.id, /^file-/);
      assert.equal(first.bytes, 10);
      assert.equal(first.filename, "a.txt");
      assert.equal(first.purpose, "assistants");
      spec.assert("OpenAIFile", await client.files.retrieve(first.id));

      const page = await rawJson(client.files.list({ limit: 1, order: "asc" }));
      spec.assert("ListFilesResponse", page);
      const listed = page as { data: { id: string }[]; has_more: boolean; last_id: string };
      assert.equal(listed.data[0]?.id, first.id);
      assert.equal(listed.has_more, true);
      const all: string[] = [];
      for await (const file of client.files.list({ limit: 1, order: "asc" })) all.push(file.id);
      assert.deepEqual(all.slice(0, 2), [first.id, second.id], "the SDK pages with after");

      const content = await client.files.content(first.id);
      assert.equal(await content.text(), "alpha file");
      assert.equal(
        content.headers.get("content-type"),
        "application/octet-stream",
        "never rendered",
      );

      const deleted = await client.files.delete(second.id);
      spec.assert("DeleteFileResponse", deleted);
      assert.deepEqual(deleted, { id: second.id, object: "file", deleted: true });
      await assert.rejects(client.files.retrieve(second.id), OpenAI.NotFoundError);
    });

    test("a purpose Gleaner does not keep files for is a 400", async () => {
      await assert.rejects(
        client.files.create({ file: await text("x"), purpose: "fine-tune" }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /purpose/.test(error.message),
      );
    });
  });

  describe(`${backend}: vector stores`, () => {
    test("create, get, update, list with before/after/order, delete", async () => {
      const created = await client.vectorStores.create({
        name: "Handbook",
        metadata: { team: "docs" },
        expires_after: { anchor: "last_active_at", days: 7 },
      });
      spec.assert("VectorStoreObject", created);
      assert.match(created.id, /^vs_/);
      assert.equal(created.name, "Handbook");
      assert.equal(created.status, "completed");
      assert.deepEqual(created.file_counts, {
        in_progress: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        total: 0,
      });
      assert.equal(created.expires_at, (created.last_active_at as number) + 7 * 86_400);

      const updated = await client.vectorStores.update(created.id, {
        name: "Handbook v2",
        metadata: { team: "platform" },
        expires_after: null,
      });
      spec.assert("VectorStoreObject", updated);
      assert.equal(updated.name, "Handbook v2");
      assert.deepEqual(updated.metadata, { team: "platform" });
      assert.equal(updated.expires_at, null);

      const others = [
        await client.vectorStores.create({ name: "two" }),
        await client.vectorStores.create({ name: "three" }),
      ];
      const newestFirst = await rawJson(client.vectorStores.list({ limit: 2 }));
      spec.assert("ListVectorStoresResponse", newestFirst);
      const desc = newestFirst as { data: { id: string }[]; first_id: string; has_more: boolean };
      assert.deepEqual(
        desc.data.map((store) => store.id),
        [others[1]?.id, others[0]?.id],
      );
      assert.equal(desc.has_more, true);
      const before = (await rawJson(
        client.vectorStores.list({ limit: 5, order: "asc", before: others[1]?.id as string }),
      )) as { data: { id: string }[] };
      assert.deepEqual(before.data.map((store) => store.id).slice(-2), [created.id, others[0]?.id]);

      await assert.rejects(
        client.vectorStores.list({ after: "vs_unknown" }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && /after/.test(error.message),
      );
      const deleted = await client.vectorStores.delete(others[0]?.id as string);
      spec.assert("DeleteVectorStoreResponse", deleted);
      assert.equal(deleted.deleted, true);
      await assert.rejects(
        client.vectorStores.retrieve(others[0]?.id as string),
        OpenAI.NotFoundError,
      );
      // the store is a collection of the native API, gone with it
      assert.equal((await nativeGet(`/v1/collections/${others[0]?.id}`)).status, 404);
    });

    test("a store unused for expires_after days is expired and cannot be searched", async () => {
      const created = await client.vectorStores.create({
        name: "short-lived",
        expires_after: { anchor: "last_active_at", days: 1 },
      });
      const store = server.runtime.services.store;
      const object = await store.getOpenAIObject("vector_store", "", created.id);
      assert.ok(object);
      const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 86_400;
      await store.putOpenAIObject({
        ...object,
        body: { ...object.body, last_active_at: twoDaysAgo },
      });
      const expired = await client.vectorStores.retrieve(created.id);
      spec.assert("VectorStoreObject", expired);
      assert.equal(expired.status, "expired");
      await assert.rejects(
        client.vectorStores.search(created.id, { query: "anything" }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /expired/.test(error.message),
      );
    });

    test("malformed bodies are 400s naming the field", async () => {
      await assert.rejects(
        client.vectorStores.create({
          expires_after: { anchor: "last_active_at", days: 0 },
        }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /expires_after\.days/.test(error.message),
      );
      const store = await client.vectorStores.create({ name: "bad" });
      await assert.rejects(
        client.vectorStores.files.create(store.id, { file_id: "file-missing" }),
        OpenAI.NotFoundError,
      );
    });
  });

  function nativeGet(path: string) {
    return call(server, "GET", path, undefined, { authorization: `Bearer ${FULL_KEY}` });
  }

  const MANUAL = {
    "pumps.txt":
      "The centrifugal pump must be primed before start-up. Running the pump dry destroys the mechanical seal within seconds.",
    "valves.txt":
      "Gate valves are either fully open or fully closed. A throttled gate valve erodes its seat and starts to leak.",
    "boilers.txt":
      "The boiler water level is checked every shift. A low water level can overheat the tubes and crack them.",
  };

  describe(`${backend}: vector store files, search and filters`, () => {
    let storeId: string;
    const ids: Record<string, string> = {};

    before(async () => {
      storeId = (await client.vectorStores.create({ name: "Manual" })).id;
      let year = 2021;
      for (const [name, body] of Object.entries(MANUAL)) {
        ids[name] = (await uploadText(name, body)).id;
        const attached = await client.vectorStores.files.createAndPoll(
          storeId,
          {
            file_id: ids[name] as string,
            attributes: {
              system: name.replace(".txt", ""),
              year: year++,
              critical: name !== "valves.txt",
            },
            chunking_strategy: {
              type: "static",
              static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 },
            },
          },
          { pollIntervalMs: 50 },
        );
        spec.assert("VectorStoreFileObject", attached);
        assert.equal(attached.status, "completed", JSON.stringify(attached.last_error));
      }
    });

    test("attached files report status, chunking, attributes and usage", async () => {
      const file = await client.vectorStores.files.retrieve(ids["pumps.txt"] as string, {
        vector_store_id: storeId,
      });
      spec.assert("VectorStoreFileObject", file);
      assert.equal(file.status, "completed");
      assert.equal(file.last_error, null);
      assert.deepEqual(file.chunking_strategy, {
        type: "static",
        static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 },
      });
      assert.deepEqual(file.attributes, { system: "pumps", year: 2021, critical: true });
      assert.ok(file.usage_bytes > 0);

      const store = await client.vectorStores.retrieve(storeId);
      spec.assert("VectorStoreObject", store);
      assert.equal(store.file_counts.completed, 3);
      assert.equal(store.file_counts.total, 3);
      assert.ok(store.usage_bytes > 0);

      const page = await rawJson(client.vectorStores.files.list(storeId, { filter: "completed" }));
      spec.assert("ListVectorStoreFilesResponse", page);
      assert.equal((page as { data: unknown[] }).data.length, 3);
      const none = await rawJson(client.vectorStores.files.list(storeId, { filter: "failed" }));
      spec.assert("ListVectorStoreFilesResponse", none);
      assert.equal((none as { data: unknown[] }).data.length, 0);
    });

    test("search: ranked chunks with file, score and attributes; filters inside retrieval", async () => {
      const page = await client.vectorStores.search(storeId, {
        query: "what happens if the pump runs dry?",
        max_num_results: 2,
      });
      const raw = JSON.parse(JSON.stringify(page.getPaginatedItems()));
      const body = {
        object: "vector_store.search_results.page",
        search_query: ["what happens if the pump runs dry?"],
        data: raw,
        has_more: false,
        next_page: null,
      };
      spec.assert("VectorStoreSearchResultsPage", body);
      const results = page.getPaginatedItems();
      assert.ok(results.length >= 1 && results.length <= 2);
      assert.equal(results[0]?.file_id, ids["pumps.txt"]);
      assert.equal(results[0]?.filename, "pumps.txt");
      assert.equal(results[0]?.score, 1);
      assert.match(results[0]?.content[0]?.text ?? "", /primed/);

      const filtered = await client.vectorStores.search(storeId, {
        query: "what happens if the pump runs dry?",
        filters: {
          type: "and",
          filters: [
            { type: "gte", key: "year", value: 2022 },
            { type: "eq", key: "critical", value: true },
          ],
        },
      });
      assert.deepEqual(
        filtered.getPaginatedItems().map((result) => result.file_id),
        [ids["boilers.txt"]],
        "only the 2023 critical document passes, however well the pump text matches",
      );
      const typed = await client.vectorStores.search(storeId, {
        query: "valve",
        filters: { type: "eq", key: "year", value: "2022" },
      });
      assert.equal(typed.getPaginatedItems().length, 0, "a string never equals a number");

      const many = await client.vectorStores.search(storeId, {
        query: ["valve seat", "boiler tubes"],
        max_num_results: 5,
        rewrite_query: true,
        ranking_options: { score_threshold: 0.5 },
      });
      assert.ok(many.getPaginatedItems().every((result) => result.score >= 0.5));
    });

    test("a malformed filter is a 400, on this surface and the native one", async () => {
      await assert.rejects(
        client.vectorStores.search(storeId, {
          query: "pump",
          // @ts-expect-error: deliberately malformed
          filters: { type: "gt", key: "year" },
        }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /needs a value/.test(error.message),
      );
      const native = await call(
        server,
        "POST",
        `/v1/collections/${storeId}/search`,
        { query: "pump", filter: { type: "in", key: "year", value: 2021 } },
        { authorization: `Bearer ${FULL_KEY}` },
      );
      assert.equal(native.status, 400);
      assert.equal(native.body.error.type, "invalid_request");
      assert.match(native.body.error.message, /array value/);
    });

    test("the native search accepts both filter spellings", async () => {
      const search = (filter: unknown) =>
        call(
          server,
          "POST",
          `/v1/collections/${storeId}/search`,
          { query: "water level pump valve", filter, mode: "keyword" },
          { authorization: `Bearer ${FULL_KEY}` },
        );
      const openaiForm = await search({ type: "in", key: "system", value: ["pumps", "valves"] });
      const nativeForm = await search({ system: { $in: ["pumps", "valves"] } });
      assert.equal(openaiForm.status, 200, JSON.stringify(openaiForm.body));
      const documents = (body: { data: { document_id: string }[] }) =>
        body.data.map((hit) => hit.document_id).sort();
      assert.deepEqual(documents(openaiForm.body), documents(nativeForm.body));
      assert.deepEqual(documents(openaiForm.body), [ids["pumps.txt"], ids["valves.txt"]].sort());
      const answered = await call(
        server,
        "POST",
        `/v1/collections/${storeId}/answer`,
        {
          question: "Why must the pump be primed?",
          filter: { type: "ne", key: "system", value: "pumps" },
        },
        { authorization: `Bearer ${FULL_KEY}` },
      );
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      assert.ok(
        answered.body.sources.every(
          (source: { document_id: string }) => source.document_id !== ids["pumps.txt"],
        ),
        "the answer's retrieval is filtered too",
      );
    });

    test("updating attributes re-embeds nothing and filters see the new values", async () => {
      const callsBefore = server.embedCalls();
      const updated = await client.vectorStores.files.update(ids["valves.txt"] as string, {
        vector_store_id: storeId,
        attributes: { system: "valves", year: 2030, critical: true },
      });
      spec.assert("VectorStoreFileObject", updated);
      assert.deepEqual(updated.attributes, { system: "valves", year: 2030, critical: true });
      assert.equal(server.embedCalls(), callsBefore, "no embedding call");
      const found = await client.vectorStores.search(storeId, {
        query: "gate valve",
        filters: { type: "gt", key: "year", value: 2029 },
      });
      assert.deepEqual(
        found.getPaginatedItems().map((result) => result.file_id),
        [ids["valves.txt"]],
      );
      // attaching the same file again is no new work, but its attributes are the new ones
      // (searching may embed the query: count from here)
      const callsBeforeAgain = server.embedCalls();
      const again = await client.vectorStores.files.create(storeId, {
        file_id: ids["valves.txt"] as string,
        attributes: { system: "valves", year: 2031, critical: true },
        chunking_strategy: {
          type: "static",
          static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 },
        },
      });
      assert.equal(again.status, "completed");
      assert.equal(again.attributes?.year, 2031);
      assert.equal(server.embedCalls(), callsBeforeAgain, "nothing was embedded again");
    });

    test("a file Gleaner cannot read fails with last_error; detaching removes it", async () => {
      const binary = await client.files.create({
        file: await toFile(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0]), "tool.bin"),
        purpose: "assistants",
      });
      const attached = await client.vectorStores.files.createAndPoll(
        storeId,
        { file_id: binary.id },
        { pollIntervalMs: 50 },
      );
      spec.assert("VectorStoreFileObject", attached);
      assert.equal(attached.status, "failed");
      assert.ok(
        attached.last_error &&
          ["unsupported_file", "invalid_file"].includes(attached.last_error.code),
        JSON.stringify(attached.last_error),
      );
      const deleted = await client.vectorStores.files.delete(binary.id, {
        vector_store_id: storeId,
      });
      spec.assert("DeleteVectorStoreFileResponse", deleted);
      assert.equal(deleted.object, "vector_store.file.deleted");
      await assert.rejects(
        client.vectorStores.files.retrieve(binary.id, { vector_store_id: storeId }),
        OpenAI.NotFoundError,
      );
    });

    test("a file's own chunking is the one its chunks are cut with", async () => {
      const long = Array.from(
        { length: 40 },
        (_, i) => `Step ${i} of the overhaul checks the bearing clearance and the seal.`,
      ).join(" ");
      const file = await uploadText("overhaul.txt", long);
      const store = await client.vectorStores.create({ name: "chunking" });
      await client.vectorStores.files.createAndPoll(
        store.id,
        {
          file_id: file.id,
          chunking_strategy: {
            type: "static",
            static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 },
          },
        },
        { pollIntervalMs: 50 },
      );
      const small = await nativeGet(`/v1/collections/${store.id}/documents/${file.id}`);
      assert.ok(small.body.token_count > 400, JSON.stringify(small.body));
      assert.ok(small.body.chunk_count >= 5, "100-token chunks");
      // attached again with auto chunking: cut again, into one 800-token chunk
      await client.vectorStores.files.createAndPoll(
        store.id,
        { file_id: file.id, chunking_strategy: { type: "auto" } },
        { pollIntervalMs: 50 },
      );
      const auto = await nativeGet(`/v1/collections/${store.id}/documents/${file.id}`);
      assert.equal(auto.body.chunk_count, 1);
      await assert.rejects(
        client.vectorStores.files.create(store.id, {
          file_id: file.id,
          chunking_strategy: {
            type: "static",
            static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 60 },
          },
        }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /chunk_overlap_tokens/.test(error.message),
      );
    });

    test("auto chunking is 800/400 tokens; deleting a file removes it from every store", async () => {
      const other = await client.vectorStores.create({
        name: "copy",
        file_ids: [ids["boilers.txt"] as string],
      });
      const attached = await client.vectorStores.files.poll(
        other.id,
        ids["boilers.txt"] as string,
        {
          pollIntervalMs: 50,
        },
      );
      assert.equal(attached.status, "completed");
      assert.deepEqual(attached.chunking_strategy, {
        type: "static",
        static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 },
      });
      const spare = await uploadText("spare.txt", "A spare impeller is kept in the store room.");
      await client.vectorStores.files.createAndPoll(
        other.id,
        { file_id: spare.id },
        { pollIntervalMs: 50 },
      );
      await client.files.delete(spare.id);
      const left = await client.vectorStores.retrieve(other.id);
      assert.equal(left.file_counts.total, 1);
      const found = await client.vectorStores.search(other.id, { query: "spare impeller" });
      assert.ok(
        found.getPaginatedItems().every((result) => result.file_id !== spare.id),
        "its chunks are gone",
      );
    });
  });

  describe(`${backend}: file batches`, () => {
    test("uploadAndPoll, get, list files, cancel", async () => {
      const store = await client.vectorStores.create({ name: "Batches" });
      const batch = await client.vectorStores.fileBatches.uploadAndPoll(
        store.id,
        {
          files: [
            await toFile(Buffer.from("Torque the flange bolts in a star pattern."), "flange.txt"),
            await toFile(
              Buffer.from("Replace the gasket whenever the flange is opened."),
              "gasket.txt",
            ),
          ],
        },
        { pollIntervalMs: 50 },
      );
      spec.assert("VectorStoreFileBatchObject", batch);
      assert.equal(batch.status, "completed");
      assert.equal(batch.file_counts.completed, 2);
      const files = await rawJson(
        client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: store.id }),
      );
      spec.assert("ListVectorStoreFilesResponse", files);
      assert.equal((files as { data: unknown[] }).data.length, 2);

      const extra = await uploadText("bolts.txt", "Bolts are lubricated before torquing.");
      const second = await client.vectorStores.fileBatches.create(store.id, {
        files: [{ file_id: extra.id, attributes: { kind: "procedure" } }],
      });
      spec.assert("VectorStoreFileBatchObject", second);
      const cancelled = await client.vectorStores.fileBatches.cancel(second.id, {
        vector_store_id: store.id,
      });
      spec.assert("VectorStoreFileBatchObject", cancelled);
      assert.equal(cancelled.status, "cancelled");
      assert.equal(cancelled.file_counts.in_progress, 0, "nothing is left running");
      assert.equal(
        cancelled.file_counts.cancelled + cancelled.file_counts.completed,
        1,
        "the file was either stopped or had already finished",
      );
      const retrieved = await client.vectorStores.fileBatches.retrieve(second.id, {
        vector_store_id: store.id,
      });
      assert.deepEqual(retrieved.file_counts, cancelled.file_counts);
    });
  });

  describe(`${backend}: auth: the same Gleaner keys, as the SDK sends them`, () => {
    test("no key 401, a read-only key reads and searches but cannot write", async () => {
      await assert.rejects(sdk("wrong").vectorStores.list(), OpenAI.AuthenticationError);
      const reader = sdk(READ_KEY);
      await reader.vectorStores.list();
      await assert.rejects(
        reader.vectorStores.create({ name: "nope" }),
        OpenAI.PermissionDeniedError,
      );
      await assert.rejects(
        reader.files.create({ file: await text("x"), purpose: "assistants" }),
        OpenAI.PermissionDeniedError,
      );
      const store = await client.vectorStores.create({ name: "readable" });
      await reader.vectorStores.search(store.id, { query: "anything" });
      // asking is reading: a read-only key may call /responses
      const answered = await reader.responses.create({
        model: "m",
        input: "anything?",
        tools: [{ type: "file_search", vector_store_ids: [store.id] }],
      });
      assert.equal(answered.status, "completed");
      await assert.rejects(reader.vectorStores.delete(store.id), OpenAI.PermissionDeniedError);
    });
  });

  describe(`${backend}: the OpenAI cookbook's file_search flow, end to end`, () => {
    const PDFS: { name: string; topic: string; year: number; pages: string[][] }[] = [
      {
        name: "heat-pumps.pdf",
        topic: "energy",
        year: 2023,
        pages: [
          [
            "Heat pumps move heat instead of making it.",
            "They work like a refrigerator in reverse.",
          ],
          [
            "A typical heat pump delivers three units of heat for every unit of electricity.",
            "This ratio is the coefficient of performance.",
          ],
        ],
      },
      {
        name: "bread.pdf",
        topic: "cooking",
        year: 2021,
        pages: [
          ["Sourdough bread rises with wild yeast.", "The starter is fed flour and water daily."],
        ],
      },
      {
        name: "solar.pdf",
        topic: "energy",
        year: 2019,
        pages: [
          [
            "Solar panels convert sunlight into electricity.",
            "Panels lose about half a percent of output each year.",
          ],
        ],
      },
    ];

    test("upload three PDFs, create a store, poll, search with a filter, ask, read citations", async () => {
      const uploaded = [];
      for (const pdf of PDFS) {
        const file = await client.files.create({
          file: await toFile(Buffer.from(await makePdf(pdf.pages, pdf.name)), pdf.name, {
            type: "application/pdf",
          }),
          purpose: "assistants",
        });
        uploaded.push({ ...pdf, id: file.id });
      }
      const store = await client.vectorStores.create({ name: "knowledge_base" });
      for (const file of uploaded) {
        const attached = await client.vectorStores.files.createAndPoll(
          store.id,
          { file_id: file.id, attributes: { topic: file.topic, year: file.year } },
          { pollIntervalMs: 50 },
        );
        assert.equal(attached.status, "completed", JSON.stringify(attached.last_error));
      }
      const ready = await client.vectorStores.retrieve(store.id);
      assert.equal(ready.status, "completed");
      assert.equal(ready.file_counts.completed, 3);

      const results = await client.vectorStores.search(store.id, {
        query: "How much heat does a heat pump deliver per unit of electricity?",
        filters: { type: "eq", key: "topic", value: "energy" },
        max_num_results: 3,
      });
      const items = results.getPaginatedItems();
      assert.equal(items[0]?.filename, "heat-pumps.pdf");
      assert.ok(items.every((item) => item.attributes?.topic === "energy"));

      const response = await client.responses.create({
        model: "gpt-4.1-mini",
        input: "How many units of heat does a heat pump deliver for every unit of electricity?",
        tools: [
          {
            type: "file_search",
            vector_store_ids: [store.id],
            filters: { type: "gte", key: "year", value: 2020 },
            max_num_results: 4,
          },
        ],
        include: ["file_search_call.results"],
      });
      spec.assert("Response", response);
      assert.equal(response.status, "completed");
      const [call, message] = response.output;
      assert.equal(call?.type, "file_search_call");
      assert.ok(call?.type === "file_search_call");
      assert.deepEqual(call.queries, [
        "How many units of heat does a heat pump deliver for every unit of electricity?",
      ]);
      assert.ok(call.results && call.results.length > 0);
      assert.ok(
        call.results.every((result) => (result.attributes?.year as number) >= 2020),
        "the tool's filter applied",
      );
      assert.ok(message?.type === "message");
      const part = message.content[0];
      assert.ok(part?.type === "output_text");
      assert.match(part.text, /three units/);
      assert.doesNotMatch(part.text, /\[\d+\]/, "markers become annotations");
      assert.equal(response.output_text, part.text);
      assert.ok(part.annotations.length > 0);
      const citation = part.annotations[0] as (typeof part.annotations)[number] & {
        quote: string;
        page_start: number | null;
        char_start: number;
        char_end: number;
      };
      assert.equal(citation.type, "file_citation");
      assert.ok(citation.type === "file_citation");
      assert.equal(citation.file_id, uploaded[0]?.id);
      assert.equal(citation.filename, "heat-pumps.pdf");
      assert.ok(citation.index > 0 && citation.index <= part.text.length);
      assert.match(citation.quote, /three units/);
      assert.equal(typeof citation.page_start, "number");
      assert.ok(citation.char_end > citation.char_start);

      // without include, the call carries no results
      const plain = await client.responses.create({
        model: "gpt-4.1-mini",
        input: [{ role: "user", content: "What does the sourdough starter get fed?" }],
        tools: [{ type: "file_search", vector_store_ids: [store.id] }],
      });
      spec.assert("Response", plain);
      const plainCall = plain.output[0];
      assert.ok(plainCall?.type === "file_search_call");
      assert.equal(plainCall.results ?? null, null);
      assert.equal(plain.output[1]?.type, "message");
    });

    test("streaming emits OpenAI's event types, each valid, text matching the final response", async () => {
      const store = await client.vectorStores.create({ name: "stream" });
      const file = await uploadText(
        "valves.txt",
        "Gate valves are either fully open or fully closed. A throttled gate valve erodes its seat.",
      );
      // the extractive answerer weighs terms by rarity: give it a few documents to compare
      const others = [
        await uploadText("boilers.txt", "The boiler water level is checked every shift."),
        await uploadText("pumps.txt", "The centrifugal pump must be primed before start-up."),
      ];
      await client.vectorStores.fileBatches.createAndPoll(
        store.id,
        { file_ids: [file.id, ...others.map((other) => other.id)] },
        { pollIntervalMs: 50 },
      );
      const stream = await client.responses.create({
        model: "gpt-4.1-mini",
        input: "What happens to a throttled gate valve?",
        tools: [{ type: "file_search", vector_store_ids: [store.id] }],
        stream: true,
      });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) {
        spec.assert(EVENT_SCHEMAS[event.type] ?? "ResponseStreamEvent", event);
        events.push(event);
      }
      const types = events.map((event) => event.type);
      for (const expected of [
        "response.created",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.delta",
        "response.output_text.annotation.added",
        "response.output_text.done",
        "response.completed",
      ]) {
        assert.ok(
          types.includes(expected as ResponseStreamEvent["type"]),
          `${expected} in ${types}`,
        );
      }
      assert.ok(
        types.indexOf("response.file_search_call.completed") <
          types.indexOf("response.output_text.delta"),
      );
      assert.deepEqual(
        events.map((event) => event.sequence_number),
        events.map((_, index) => index),
      );
      const deltas = events
        .filter((event) => event.type === "response.output_text.delta")
        .map((event) => (event as { delta: string }).delta)
        .join("");
      const completed = events.at(-1);
      assert.ok(completed?.type === "response.completed");
      assert.equal(deltas, completed.response.output_text);
      assert.match(deltas, /erodes its seat/);
    });

    test("errors before the answer are plain 4xx: unknown store, other tools, no file_search", async () => {
      await assert.rejects(
        client.responses.create({
          model: "m",
          input: "q",
          tools: [{ type: "file_search", vector_store_ids: ["vs_missing"] }],
        }),
        OpenAI.NotFoundError,
      );
      await assert.rejects(
        client.responses.create({ model: "m", input: "q", tools: [{ type: "web_search" }] }),
        (error: unknown) =>
          error instanceof OpenAI.BadRequestError && /file_search/.test(error.message),
      );
      await assert.rejects(
        client.responses.create({ model: "m", input: "q" }),
        OpenAI.BadRequestError,
      );
    });
  });
}
