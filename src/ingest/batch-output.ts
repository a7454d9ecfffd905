/** One successful line of a Batch API output file for /v1/embeddings. */
export interface BatchEmbeddingResult {
  customId: string;
  vector: Float32Array;
  tokens: number;
}

/**
 * The usable results of an output file (JSONL): lines with status 200 and one embedding of the
 * expected size, as floats or base64. Anything else is skipped; its text is embedded again by
 * the normal path.
 */
export function parseBatchOutput(content: string, dimensions: number): BatchEmbeddingResult[] {
  const results: BatchEmbeddingResult[] = [];
  for (const line of content.split("\n")) {
    if (line.trim() === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const result = toResult(parsed, dimensions);
    if (result) results.push(result);
  }
  return results;
}

function toResult(line: unknown, dimensions: number): BatchEmbeddingResult | null {
  if (!isRecord(line) || typeof line.custom_id !== "string") return null;
  const response = line.response;
  if (!isRecord(response) || response.status_code !== 200 || !isRecord(response.body)) return null;
  const { data, usage } = response.body;
  if (!Array.isArray(data) || data.length !== 1 || !isRecord(data[0])) return null;
  const vector = decodeEmbedding(data[0].embedding);
  if (!vector || vector.length !== dimensions || !vector.every(Number.isFinite)) return null;
  const tokens =
    isRecord(usage) && typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  return { customId: line.custom_id, vector, tokens };
}

/** An embedding as OpenAI sends it: a number array, or base64 of little-endian float32s. */
export function decodeEmbedding(value: unknown): Float32Array | null {
  if (Array.isArray(value)) {
    return value.every((item) => typeof item === "number") ? Float32Array.from(value) : null;
  }
  if (typeof value !== "string") return null;
  const bytes = Buffer.from(value, "base64");
  if (bytes.byteLength % 4 !== 0) return null;
  const vector = new Float32Array(bytes.byteLength / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
