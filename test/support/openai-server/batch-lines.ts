import { isRecord, type Json, type JsonObject, parseJson } from "./http.ts";

/** Checks each JSONL line the way OpenAI's validating stage does; returns BatchError objects. */
export function validateLines(lines: string[], endpoint: string): JsonObject[] {
  const problems: JsonObject[] = [];
  const seen = new Set<string>();
  const problem = (
    line: number,
    code: string,
    message: string,
    param: string | null = null,
  ): void => {
    if (problems.length < 100) problems.push({ code, message, param, line });
  };
  if (lines.length === 0) problem(0, "empty_file", "The input file is empty.");
  if (lines.length > 50_000)
    problem(0, "too_many_requests", "A batch may hold at most 50,000 requests.");
  for (const [index, text] of lines.entries()) {
    const lineNumber = index + 1;
    let line: Json;
    try {
      line = parseJson(text);
    } catch {
      problem(lineNumber, "invalid_json_line", "This line is not parseable as valid JSON.");
      continue;
    }
    if (!isRecord(line)) {
      problem(lineNumber, "invalid_json_line", "Each line must be a JSON object.");
      continue;
    }
    if (typeof line.custom_id !== "string") {
      problem(
        lineNumber,
        "missing_required_parameter",
        "Missing required parameter: 'custom_id'.",
        "custom_id",
      );
    } else if (seen.has(line.custom_id)) {
      problem(
        lineNumber,
        "duplicate_custom_id",
        "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.",
        "custom_id",
      );
    } else seen.add(line.custom_id);
    if (line.method !== "POST") {
      problem(lineNumber, "invalid_method", "Only POST is supported for batch requests.", "method");
    }
    if (line.url !== endpoint) {
      problem(
        lineNumber,
        "mismatched_endpoint",
        `The provided url '${String(line.url)}' does not match the batch endpoint '${endpoint}'.`,
        "url",
      );
    }
    if (!isRecord(line.body)) {
      problem(
        lineNumber,
        "missing_required_parameter",
        "Missing required parameter: 'body'.",
        "body",
      );
    }
  }
  return problems;
}
