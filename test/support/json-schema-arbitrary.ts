import fc from "fast-check";

/** A JSON Schema node as @hono/zod-openapi writes it from our zod schemas. */
export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
}

const SMALL = 6;

/**
 * Values shaped by a JSON Schema (mostly valid: sizes near the limits, every enum and branch),
 * for property-based tests of request validation. Refinements zod cannot express in JSON
 * Schema (metadata size) are left to the mutations the caller adds.
 */
export function arbitraryFromSchema(
  node: SchemaNode,
  components: Record<string, SchemaNode>,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (node.$ref) {
    const name = node.$ref.replace("#/components/schemas/", "");
    const target = components[name];
    return target ? arbitraryFromSchema(target, components, depth + 1) : fc.jsonValue();
  }
  if (depth > 8) return fc.constant(null);
  const branches = node.anyOf ?? node.oneOf;
  if (branches)
    return fc.oneof(...branches.map((b) => arbitraryFromSchema(b, components, depth + 1)));
  if (node.allOf?.[0]) return arbitraryFromSchema(node.allOf[0], components, depth + 1);
  if (node.enum) return fc.constantFrom(...node.enum);
  if (node.const !== undefined) return fc.constant(node.const);
  const type = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  if (type.length > 1) {
    return fc.oneof(
      ...type.map((t) => arbitraryFromSchema({ ...node, type: t }, components, depth)),
    );
  }
  const base = single(type[0], node, components, depth);
  return node.nullable ? fc.option(base, { nil: null }) : base;
}

function single(
  type: string | undefined,
  node: SchemaNode,
  components: Record<string, SchemaNode>,
  depth: number,
): fc.Arbitrary<unknown> {
  switch (type) {
    case "string":
      return stringFor(node);
    case "integer": {
      const min = node.minimum ?? (node.exclusiveMinimum ?? -1001) + 1;
      const max = node.maximum ?? (node.exclusiveMaximum ?? 1001) - 1;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
    case "number":
      return fc.double({
        min: node.minimum ?? -1e6,
        max: node.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(
        node.items ? arbitraryFromSchema(node.items, components, depth + 1) : fc.jsonValue(),
        {
          minLength: node.minItems ?? 0,
          maxLength: Math.max(node.minItems ?? 0, Math.min(node.maxItems ?? SMALL, SMALL)),
        },
      );
    case "object":
      return objectFor(node, components, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringFor(node: SchemaNode): fc.Arbitrary<string> {
  const minLength = node.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(node.maxLength ?? 40, 40));
  if (node.pattern) {
    try {
      const pattern = new RegExp(node.pattern, "u");
      return fc
        .stringMatching(pattern)
        .filter((value) => value.length >= minLength && value.length <= (node.maxLength ?? 1e9));
    } catch {
      // a pattern fast-check cannot generate from: fall through to plain strings
    }
  }
  const text = fc.string({ unit: "grapheme", minLength, maxLength });
  // words the search and ingest paths actually index, so valid requests do real work
  const words = fc
    .array(fc.constantFrom("boundary", "layer", "shock", "wave", "flutter", "panel", "jet"), {
      minLength: Math.max(1, minLength),
      maxLength: 6,
    })
    .map((list) => list.join(" "))
    .filter((value) => value.length >= minLength && value.length <= (node.maxLength ?? 1e9));
  return fc.oneof(text, words);
}

function objectFor(
  node: SchemaNode,
  components: Record<string, SchemaNode>,
  depth: number,
): fc.Arbitrary<unknown> {
  const properties = node.properties ?? {};
  const names = Object.keys(properties);
  if (names.length === 0) {
    const values =
      typeof node.additionalProperties === "object"
        ? arbitraryFromSchema(node.additionalProperties, components, depth + 1)
        : fc.jsonValue({ maxDepth: 2 });
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), values, { maxKeys: 4 });
  }
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) {
    record[name] = arbitraryFromSchema(properties[name] as SchemaNode, components, depth + 1);
  }
  return fc.record(record, { requiredKeys: (node.required ?? []).filter((n) => n in record) });
}

/** A value with one thing wrong: a field replaced, dropped, added, or the whole shape swapped. */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const junk = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(-1, 0, 1e308, -0, "", " ", "\u0000", "x".repeat(5000), [], {}, null),
  );
  return fc
    .tuple(valid, junk, fc.nat(), fc.nat({ max: 3 }))
    .map(([value, replacement, pick, how]) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return replacement;
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const key = keys.length > 0 ? (keys[pick % keys.length] as string) : "extra";
      if (how === 0) copy[key] = replacement;
      else if (how === 1) delete copy[key];
      else if (how === 2) copy[`unknown_${pick % 7}`] = replacement;
      else return [copy];
      return copy;
    });
}
