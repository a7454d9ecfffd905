import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const SPEC = fileURLToPath(new URL("../../../shared/openai-openapi/openapi.json", import.meta.url));

/** Validates values against components of the official OpenAI spec (compiled once, lazily). */
export interface SpecValidator {
  /** Why validation cannot run (the spec is absent), or null when it can. */
  readonly skipReason: string | null;
  /** Throws with ajv's errors when `value` does not match `components.schemas[name]`. */
  assert(name: string, value: unknown): void;
}

const oneOfAsAnyOf = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(oneOfAsAnyOf);
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key === "oneOf" ? "anyOf" : key,
      oneOfAsAnyOf(value),
    ]),
  );
};

let cached: SpecValidator | null = null;

/** The validator over ../shared/openai-openapi/openapi.json, as test/support/openai-server does. */
export function openaiSpec(): SpecValidator {
  if (cached) return cached;
  if (!existsSync(SPEC)) {
    cached = {
      skipReason: `${SPEC} is absent (../shared is not mounted)`,
      assert: () => {},
    };
    return cached;
  }
  const spec = JSON.parse(readFileSync(SPEC, "utf8")) as { components: unknown };
  // the spec's unions overlap (as OpenAI treats them: plain unions), so oneOf is read as anyOf
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    logger: false,
    validateSchema: false,
    inlineRefs: false,
    code: { optimize: false },
  });
  addFormats.default(ajv);
  ajv.addFormat("unixtime", { type: "number", validate: (value) => Number.isFinite(value) });
  ajv.addSchema({ $id: "openai", components: oneOfAsAnyOf(spec.components) });
  const validators = new Map<string, ValidateFunction>();
  cached = {
    skipReason: null,
    assert(name, value) {
      let validate = validators.get(name);
      if (!validate) {
        validate = ajv.getSchema(`openai#/components/schemas/${name}`);
        if (!validate) throw new Error(`the spec has no schema ${name}`);
        validators.set(name, validate);
      }
      if (!validate(value)) {
        throw new Error(
          `${name} does not match the official schema: ${JSON.stringify(validate.errors?.slice(0, 5))}\n${JSON.stringify(value).slice(0, 2000)}`,
        );
      }
    },
  };
  return cached;
}
