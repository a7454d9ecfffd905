import { ApiError, isRecord, missingParameter } from "./http.ts";
import type { SchemaRegistry } from "./schemas.ts";
import { countTokens, decodeTokens } from "./tokens.ts";

/** What the server knows about an embedding model. */
export interface EmbeddingModelInfo {
  /** Native (and largest) vector length. */
  dimensions: number;
  /** Whether the `dimensions` parameter is accepted (not for ada-002). */
  dimensionsConfigurable: boolean;
}

/** OpenAI's embedding models; `startOpenAIServer({ embeddingModels })` can add more. */
export const EMBEDDING_MODELS: Readonly<Record<string, EmbeddingModelInfo>> = {
  "text-embedding-3-small": { dimensions: 1536, dimensionsConfigurable: true },
  "text-embedding-3-large": { dimensions: 3072, dimensionsConfigurable: true },
  "text-embedding-ada-002": { dimensions: 1536, dimensionsConfigurable: false },
};

/** OpenAI's per-request limits for /v1/embeddings. */
export interface EmbeddingLimits {
  maxInputs: number;
  maxTokensPerInput: number;
  maxTokensPerRequest: number;
}

/** Limits as OpenAI documents them (the spec's prose says 8192 per input; OpenAI has long enforced 8191). */
export const DEFAULT_EMBEDDING_LIMITS: EmbeddingLimits = {
  maxInputs: 2048,
  maxTokensPerInput: 8191,
  maxTokensPerRequest: 300_000,
};

/** A `CreateEmbeddingResponse` body (a type alias, so it is assignable to `Json`). */
export type EmbeddingResponseBody = {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
};

/** Everything `createEmbeddings` needs besides the request body. */
export interface EmbeddingContext {
  schemas: SchemaRegistry;
  models: Readonly<Record<string, EmbeddingModelInfo>>;
  limits: EmbeddingLimits;
}

// Words this common would make every pair of English sentences look alike.
const STOPWORDS = new Set(
  [
    "a an and are as at be but by can did do does for from had has have he her his how i if in",
    "into is it its me my no not of on or our she so than that the their them then there they",
    "this to us was we were what when where which who why will with you your",
  ]
    .join(" ")
    .split(" "),
);

function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A deterministic, L2-normalised embedding: a signed feature hash of lowercase words
 * (sublinear term frequency, stopwords damped) plus their character trigrams, so texts that
 * share words or word stems land near each other. Seeded by model, like real models differ.
 */
export function embedText(text: string, dimensions: number, model = ""): Float32Array {
  const features = new Map<string, number>();
  const add = (feature: string, weight: number): void => {
    features.set(feature, (features.get(feature) ?? 0) + weight);
  };
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    if (STOPWORDS.has(word)) {
      add(`w:${word}`, 0.1);
      continue;
    }
    add(`w:${word}`, 1);
    const padded = `^${word}$`;
    for (let index = 0; index + 3 <= padded.length; index++) {
      add(`t:${padded.slice(index, index + 3)}`, 0.25);
    }
  }
  // Punctuation-only text still gets a stable, non-zero vector.
  if (features.size === 0) add(`raw:${text}`, 1);

  const seed = fnv1a(model, 0);
  const vector = new Float32Array(dimensions);
  for (const [feature, count] of features) {
    const hash = fnv1a(feature, seed);
    const sign = fnv1a(feature, seed ^ 0x5bd1e995) & 1 ? 1 : -1;
    const index = hash % dimensions;
    const weight = count > 1 ? 1 + Math.log(count) : count;
    vector[index] = (vector[index] ?? 0) + sign * weight;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  for (let index = 0; index < dimensions; index++) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}

/** Base64 of the little-endian float32 bytes: OpenAI's `encoding_format: "base64"`. */
export function toBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) {
    bytes.writeFloatLE(vector[index] ?? 0, index * 4);
  }
  return bytes.toString("base64");
}

interface PreparedInput {
  text: string;
  tokens: number;
}

function isTokenArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => Number.isInteger(item));
}

function prepareInputs(input: unknown): PreparedInput[] {
  const emptyError = (): ApiError =>
    new ApiError(
      400,
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    );
  if (typeof input === "string") {
    if (input === "") throw emptyError();
    return [{ text: input, tokens: countTokens(input) }];
  }
  if (isTokenArray(input) && input.length > 0) {
    return [{ text: decodeTokens(input), tokens: input.length }];
  }
  if (Array.isArray(input) && input.length > 0) {
    return input.map((item) => {
      if (typeof item === "string") {
        if (item === "") throw emptyError();
        return { text: item, tokens: countTokens(item) };
      }
      if (isTokenArray(item) && item.length > 0) {
        return { text: decodeTokens(item), tokens: item.length };
      }
      throw emptyError();
    });
  }
  throw new ApiError(
    400,
    "Invalid type for 'input': expected one of a string, array of strings, array of integers, or array of arrays of integers.",
    { param: "input", code: "invalid_type" },
  );
}

/** Runs one /v1/embeddings request: validation, OpenAI's limits, vectors and usage. Throws ApiError. */
export function createEmbeddings(body: unknown, context: EmbeddingContext): EmbeddingResponseBody {
  context.schemas.assertRequest("CreateEmbeddingRequest", body);
  if (!isRecord(body) || typeof body.model !== "string") {
    throw missingParameter("model");
  }
  const model = body.model;
  const info = context.models[model];
  if (!info) {
    throw new ApiError(
      404,
      `The model \`${model}\` does not exist or you do not have access to it.`,
      {
        code: "model_not_found",
      },
    );
  }
  const dimensions = resolveDimensions(body.dimensions, info);
  const { limits } = context;
  if (
    Array.isArray(body.input) &&
    body.input.length > limits.maxInputs &&
    !isTokenArray(body.input)
  ) {
    throw new ApiError(
      400,
      `Invalid 'input': array too long. Expected an array with maximum length ${limits.maxInputs}, but got an array with length ${body.input.length} instead.`,
      { param: "input", code: "array_above_max_length" },
    );
  }
  const inputs = prepareInputs(body.input);
  let total = 0;
  for (const input of inputs) {
    if (input.tokens > limits.maxTokensPerInput) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${limits.maxTokensPerInput} tokens, however you requested ${input.tokens} tokens (${input.tokens} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
      );
    }
    total += input.tokens;
  }
  if (total > limits.maxTokensPerRequest) {
    throw new ApiError(
      400,
      `Requested ${total} tokens, max ${limits.maxTokensPerRequest} tokens per request`,
      { type: "max_tokens_per_request", code: "max_tokens_per_request" },
    );
  }
  const base64 = body.encoding_format === "base64";
  return {
    object: "list",
    data: inputs.map((input, index) => {
      const vector = embedText(input.text, dimensions, model);
      return {
        object: "embedding",
        index,
        embedding: base64 ? toBase64(vector) : Array.from(vector),
      };
    }),
    model,
    usage: { prompt_tokens: total, total_tokens: total },
  };
}

function resolveDimensions(requested: unknown, info: EmbeddingModelInfo): number {
  if (requested === undefined || requested === null) return info.dimensions;
  if (!info.dimensionsConfigurable) {
    throw new ApiError(400, "This model does not support specifying dimensions.", {
      param: "dimensions",
    });
  }
  if (typeof requested !== "number" || !Number.isInteger(requested) || requested < 1) {
    throw new ApiError(400, "Invalid 'dimensions': expected a positive integer.", {
      param: "dimensions",
      code: "invalid_value",
    });
  }
  if (requested > info.dimensions) {
    throw new ApiError(
      400,
      `Invalid 'dimensions': integer above maximum value. Expected a value <= ${info.dimensions}, but got ${requested} instead.`,
      { param: "dimensions", code: "integer_above_max_value" },
    );
  }
  return requested;
}
