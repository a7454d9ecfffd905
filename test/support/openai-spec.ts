import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { DEFAULT_SPEC_URL, specAjv } from "./openai-server/schemas.ts";

const SPEC = fileURLToPath(DEFAULT_SPEC_URL);

/** Validates values against components of the official OpenAI spec (compiled once, lazily). */
export interface SpecValidator {
  /** Why validation cannot run (the spec is absent), or null when it can. */
  readonly skipReason: string | null;
  /** Throws with ajv's errors when `value` does not match `components.schemas[name]`. */
  assert(name: string, value: unknown): void;
}

let cached: SpecValidator | null = null;

/** The validator over ../shared/openai-openapi/openapi.json, compiled as test/support/openai-server does. */
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
  const ajv = specAjv(spec.components);
  const validators = new Map<string, ValidateFunction>();
  cached = {
    skipReason: null,
    assert(name, value) {
      let validate = validators.get(name);
      if (!validate) {
        validate = ajv.getSchema(`openai-openapi#/components/schemas/${name}`);
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
