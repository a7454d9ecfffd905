import type { ErrorObject } from "ajv/dist/2020.js";
import { ApiError, isRecord, missingParameter } from "./http.ts";
import type { SchemaCheck, SchemaIssue } from "./schemas.ts";

/** An ajv error as a SchemaIssue (missing and unknown properties named in the path). */
export function toIssue(error: ErrorObject): SchemaIssue {
  const params: Record<string, unknown> = error.params;
  const missing = params.missingProperty;
  const extra = params.additionalProperty;
  if (error.keyword === "required" && typeof missing === "string") {
    return { path: `${error.instancePath}/${missing}`, keyword: "required", message: "required" };
  }
  if (error.keyword === "additionalProperties" && typeof extra === "string") {
    return {
      path: `${error.instancePath}/${extra}`,
      keyword: "unknownParameter",
      message: "unknown parameter",
    };
  }
  return {
    path: error.instancePath,
    keyword: error.keyword,
    message: describe(error) ?? error.message ?? "is invalid",
  };
}

function describe(error: ErrorObject): string | undefined {
  const params: Record<string, unknown> = error.params;
  switch (error.keyword) {
    case "type":
      return `expected ${article(String(params.type))}`;
    case "enum":
      return Array.isArray(params.allowedValues)
        ? `supported values are: ${params.allowedValues.map((v) => `'${String(v)}'`).join(", ")}`
        : undefined;
    case "minimum":
      return `expected a value >= ${String(params.limit)}`;
    case "maximum":
      return `expected a value <= ${String(params.limit)}`;
    case "maxItems":
      return `expected an array with maximum length ${String(params.limit)}`;
    case "minItems":
      return `expected an array with minimum length ${String(params.limit)}`;
    case "maxLength":
      return `expected a string with maximum length ${String(params.limit)}`;
    case "minLength":
      return `expected a string with minimum length ${String(params.limit)}`;
    default:
      return undefined;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** `/input/1/content` → `input[1].content`, the way OpenAI names a `param`. */
export function pointerToParam(pointer: string): string {
  let param = "";
  for (const part of pointer.split("/").slice(1)) {
    const segment = part.replaceAll("~1", "/").replaceAll("~0", "~");
    param += /^\d+$/.test(segment) ? `[${segment}]` : param === "" ? segment : `.${segment}`;
  }
  return param;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  if (typeof value === "object") return "an object";
  return article(typeof value);
}

function valueAt(root: unknown, pointer: string): unknown {
  let current = root;
  for (const part of pointer.split("/").slice(1)) {
    if (Array.isArray(current)) current = current[Number(part)];
    else if (isRecord(current)) current = current[part];
    else return undefined;
  }
  return current;
}

const COMBINATORS = new Set(["oneOf", "anyOf", "allOf", "if", "not"]);

/**
 * Picks the issue OpenAI would most plausibly report and phrases it like OpenAI does
 * (`missing_required_parameter`, `unknown_parameter`, `invalid_type`, `invalid_value`, …).
 */
export function toOpenAIError(result: SchemaCheck, body: unknown): ApiError {
  const concrete = result.issues.filter((issue) => !COMBINATORS.has(issue.keyword));
  const pool = concrete.length > 0 ? concrete : result.issues;
  // ajv stops at the first failure outside a union and reports each union member's first
  // failure: the deepest one comes from the member that fitted best, and a type mismatch
  // at equal depth only says that a member was the wrong one.
  const byDepth = [...pool].sort(
    (a, b) => b.path.split("/").length - a.path.split("/").length || rank(a) - rank(b),
  );
  const issue = byDepth[0];
  if (!issue) return new ApiError(400, "Invalid request body.", { code: "invalid_request" });
  const param = pointerToParam(issue.path);
  const value = valueAt(body, issue.path);
  switch (issue.keyword) {
    case "required":
      return missingParameter(param);
    case "unknownParameter":
      return new ApiError(400, `Unknown parameter: '${param}'.`, {
        param,
        code: "unknown_parameter",
      });
    case "type": {
      const expected = [
        ...new Set(pool.filter((i) => i.path === issue.path && i.keyword === "type").map(typeText)),
      ];
      const list = expected.length > 1 ? `one of ${expected.join(", ")}` : (expected[0] ?? "");
      return new ApiError(
        400,
        `Invalid type for '${param}': expected ${list}, but got ${jsonTypeOf(value)} instead.`,
        { param, code: "invalid_type" },
      );
    }
    case "enum":
    case "const":
      return new ApiError(400, `Invalid value: '${String(value)}'. ${capitalise(issue.message)}.`, {
        param,
        code: "invalid_value",
      });
    case "minimum":
    case "maximum": {
      const which = issue.keyword === "minimum" ? "below minimum" : "above maximum";
      return new ApiError(
        400,
        `Invalid '${param}': ${jsonTypeOf(value).replace(/^an? /, "")} ${which} value. ${capitalise(issue.message)}, but got ${String(value)} instead.`,
        {
          param,
          code: `${Number.isInteger(value) ? "integer" : "decimal"}_${issue.keyword === "minimum" ? "below_min" : "above_max"}_value`,
        },
      );
    }
    case "maxItems":
    case "minItems": {
      const length = Array.isArray(value) ? value.length : 0;
      const which = issue.keyword === "maxItems" ? "too long" : "too short";
      return new ApiError(
        400,
        `Invalid '${param}': array ${which}. ${capitalise(issue.message)}, but got an array with length ${length} instead.`,
        {
          param,
          code: issue.keyword === "maxItems" ? "array_above_max_length" : "array_below_min_length",
        },
      );
    }
    default:
      return new ApiError(400, `Invalid '${param || "body"}': ${issue.message}.`, {
        param: param || null,
        code: "invalid_value",
      });
  }
}

function typeText(issue: SchemaIssue): string {
  return issue.message.replace(/^expected /, "");
}

function rank(issue: SchemaIssue): number {
  // An enum miss on `type` only says which union member did not apply (a discriminator).
  const onDiscriminator = issue.path.endsWith("/type");
  if ((issue.keyword === "enum" || issue.keyword === "const") && !onDiscriminator) return 0;
  if (issue.keyword === "required") return 1;
  if (issue.keyword === "unknownParameter") return 2;
  if (issue.keyword === "type" || onDiscriminator) return 4;
  return 3;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
