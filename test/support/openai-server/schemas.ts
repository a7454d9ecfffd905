import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { isRecord } from "./http.ts";
import { toIssue, toOpenAIError } from "./schema-errors.ts";

/** Where CI keeps the official OpenAPI description: /work/shared beside the repo. */
export const DEFAULT_SPEC_URL = new URL(
  "../../../../shared/openai-openapi/openapi.json",
  import.meta.url,
);

/** Component schemas this server validates requests or replies against. */
export type SchemaName =
  | "CreateEmbeddingRequest"
  | "CreateEmbeddingResponse"
  | "CreateResponse"
  | "Response"
  | "ResponseStreamEvent"
  | "CreateFileRequest"
  | "OpenAIFile"
  | "CreateBatchRequest"
  | "Batch"
  | "ErrorResponse";

const ALL_SCHEMAS: readonly SchemaName[] = [
  "CreateEmbeddingRequest",
  "CreateEmbeddingResponse",
  "CreateResponse",
  "Response",
  "ResponseStreamEvent",
  "CreateFileRequest",
  "OpenAIFile",
  "CreateBatchRequest",
  "Batch",
  "ErrorResponse",
];

/** One reason a value failed a schema, in JSON-pointer terms. */
export interface SchemaIssue {
  path: string;
  keyword: string;
  message: string;
}

/** Outcome of validating one value. */
export interface SchemaCheck {
  schema: SchemaName;
  ok: boolean;
  issues: SchemaIssue[];
}

/** Validators compiled from the spec, or a stand-in that accepts everything when it is absent. */
export interface SchemaRegistry {
  readonly available: boolean;
  readonly specPath: string | null;
  /** Validates `value` against `components.schemas[name]` (always ok when unavailable). */
  check(name: SchemaName, value: unknown): SchemaCheck;
  /** Like `check`, but throws the 400 OpenAI would send when the value is invalid. */
  assertRequest(name: SchemaName, value: unknown): void;
}

const SPEC_ID = "openai-openapi";
const registries = new Map<string, SchemaRegistry>();

/** Loads (once per process and path) the spec and compiles the validators this server needs. */
export function loadSchemas(spec: URL | string | null = DEFAULT_SPEC_URL): SchemaRegistry {
  const specPath = spec === null ? null : spec instanceof URL ? fileURLToPath(spec) : spec;
  const key = specPath ?? "";
  const cached = registries.get(key);
  if (cached) return cached;
  const registry =
    specPath !== null && existsSync(specPath) ? compileRegistry(specPath) : unavailable();
  registries.set(key, registry);
  return registry;
}

function unavailable(): SchemaRegistry {
  return {
    available: false,
    specPath: null,
    check: (schema) => ({ schema, ok: true, issues: [] }),
    assertRequest: () => {},
  };
}

/**
 * An ajv instance holding the spec's components under the $id "openai-openapi" (refs resolve as
 * `openai-openapi#/components/schemas/<name>`), compiled lazily per schema.
 */
export function specAjv(specComponents: unknown): Ajv2020 {
  // strict: false lets ajv ignore OpenAPI's own keywords (discriminator, x-oai*, x-stainless-*);
  // every union in the spec also lists its members in oneOf/anyOf, so nothing is lost.
  // Compiling is the start-up cost (~1 s): skipping ajv's code optimiser, ref inlining and
  // meta-validation of a 3 MB spec roughly halves it; validating our small bodies stays fast.
  const ajv = new Ajv2020({
    strict: false,
    allErrors: false,
    logger: false,
    validateSchema: false,
    inlineRefs: false,
    code: { optimize: false },
  });
  addFormats.default(ajv);
  ajv.addFormat("unixtime", { type: "number", validate: (value) => Number.isFinite(value) });
  ajv.addSchema({ $id: SPEC_ID, components: unionsAsAnyOf(specComponents) });
  return ajv;
}

function compileRegistry(specPath: string): SchemaRegistry {
  const spec: unknown = JSON.parse(readFileSync(specPath, "utf8"));
  if (!isRecord(spec) || !isRecord(spec.components) || !isRecord(spec.components.schemas)) {
    throw new Error(`${specPath} has no components.schemas`);
  }
  const schemas = spec.components.schemas;
  const ajv = specAjv(spec.components);

  const validators = new Map<SchemaName, ValidateFunction>();
  const knownKeys = new Map<SchemaName, Set<string> | null>();
  for (const name of ALL_SCHEMAS) {
    const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
    if (!validate) throw new Error(`${specPath} has no schema ${name}`);
    validators.set(name, validate);
    knownKeys.set(name, topLevelKeysOfAllOf(schemas, name));
  }

  function check(name: SchemaName, value: unknown): SchemaCheck {
    const validate = validators.get(name);
    if (!validate || validate(value)) {
      const unknown = unknownTopLevelKeys(knownKeys.get(name) ?? null, value);
      if (unknown.length === 0) return { schema: name, ok: true, issues: [] };
      return {
        schema: name,
        ok: false,
        issues: unknown.map((key) => ({
          path: `/${key}`,
          keyword: "unknownParameter",
          message: "unknown parameter",
        })),
      };
    }
    return { schema: name, ok: false, issues: (validate.errors ?? []).map(toIssue) };
  }

  return {
    available: true,
    specPath,
    check,
    assertRequest(name, value) {
      const result = check(name, value);
      if (!result.ok) throw toOpenAIError(result, value);
    },
  };
}

/**
 * The spec writes every union as `oneOf`, but its members overlap (a `{role, content: [...]}`
 * input item is both an EasyInputMessage and an InputMessage), so "exactly one" would reject
 * the SDK's own requests. OpenAI treats them as plain unions: so do we, with `anyOf`.
 */
function unionsAsAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(unionsAsAnyOf);
  if (!isRecord(node)) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // No schema in the spec has both keywords, so a rename loses nothing.
    copy[key === "oneOf" ? "anyOf" : key] = unionsAsAnyOf(value);
  }
  return copy;
}

/**
 * Request schemas built with `allOf` (CreateResponse) cannot say `additionalProperties: false`,
 * yet OpenAI rejects unknown top-level parameters; collect the keys the parts declare.
 */
function topLevelKeysOfAllOf(schemas: Record<string, unknown>, name: string): Set<string> | null {
  const root = schemas[name];
  if (!name.startsWith("Create") || !isRecord(root) || !Array.isArray(root.allOf)) return null;
  const keys = new Set<string>();
  for (const part of root.allOf) {
    const resolved =
      isRecord(part) && typeof part.$ref === "string"
        ? schemas[part.$ref.replace("#/components/schemas/", "")]
        : part;
    if (isRecord(resolved) && isRecord(resolved.properties)) {
      for (const key of Object.keys(resolved.properties)) keys.add(key);
    }
  }
  return keys;
}

function unknownTopLevelKeys(known: Set<string> | null, value: unknown): string[] {
  if (!known || !isRecord(value)) return [];
  return Object.keys(value).filter((key) => !known.has(key));
}
