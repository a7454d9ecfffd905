import { isRecord, type Json } from "./http.ts";

/**
 * A small value that satisfies a JSON Schema of the kind structured outputs use (objects with
 * required properties, arrays, enums, anyOf, local $refs): what the default responder "says"
 * when a request asks for `text.format.type === "json_schema"`.
 */
export function exampleFromSchema(schema: unknown, root: unknown = schema, depth = 0): Json {
  if (!isRecord(schema) || depth > 12) return null;
  if ("const" in schema) return toJson(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return toJson(schema.enum[0]);
  if (typeof schema.$ref === "string") {
    return exampleFromSchema(resolveRef(root, schema.$ref), root, depth + 1);
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) {
    const member = union.find((option) => !(isRecord(option) && option.type === "null"));
    return exampleFromSchema(member ?? union[0], root, depth + 1);
  }
  const type = Array.isArray(schema.type)
    ? schema.type.find((candidate) => candidate !== "null")
    : schema.type;
  switch (type) {
    case "object": {
      const result: Record<string, Json> = {};
      const properties = isRecord(schema.properties) ? schema.properties : {};
      for (const [key, property] of Object.entries(properties)) {
        result[key] = exampleFromSchema(property, root, depth + 1);
      }
      return result;
    }
    case "array": {
      const count = typeof schema.minItems === "number" ? Math.max(1, schema.minItems) : 1;
      return Array.from({ length: count }, () => exampleFromSchema(schema.items, root, depth + 1));
    }
    case "string":
      return typeof schema.default === "string" ? schema.default : exampleString(schema.format);
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    default:
      return null;
  }
}

function exampleString(format: unknown): string {
  if (format === "date-time") return "2024-01-01T00:00:00Z";
  if (format === "date") return "2024-01-01";
  if (format === "email") return "someone@example.com";
  if (format === "uri") return "https://example.com/";
  if (format === "uuid") return "00000000-0000-4000-8000-000000000000";
  return "example";
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let current = root;
  for (const part of ref.slice(1).split("/").filter(Boolean)) {
    current = isRecord(current)
      ? current[part.replaceAll("~1", "/").replaceAll("~0", "~")]
      : undefined;
  }
  return current;
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value ?? null)) as Json;
}
