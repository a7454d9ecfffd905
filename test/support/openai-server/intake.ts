import type { IncomingMessage } from "node:http";
import { ApiError, type Json, parseJson } from "./http.ts";

/** A multipart body as the server saw it. */
export interface MultipartBody {
  fields: Record<string, string>;
  files: { field: string; filename: string; contentType: string; content: Buffer }[];
}

/** OpenAI's reply to a request without a key. */
export const NO_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";

/** OpenAI's reply to a body that is not JSON. */
export const BAD_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

/** Throws OpenAI's 401 unless the request carries a bearer key (the expected one, when set). */
export function authorize(header: string | undefined, apiKey: string | undefined): void {
  const key = /^Bearer\s+(\S.*)$/i.exec(header ?? "")?.[1]?.trim();
  if (!key) throw new ApiError(401, NO_KEY_MESSAGE);
  if (apiKey !== undefined && key !== apiKey) {
    const shown = key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : "*****";
    throw new ApiError(
      401,
      `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      { code: "invalid_api_key" },
    );
  }
}

/** Request headers as one string each. */
export function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** A request body: JSON, multipart, unparseable JSON (kept as text), or none. */
export type ParsedBody =
  | { kind: "none"; json: undefined; multipart: undefined }
  | { kind: "json"; json: Json; multipart: undefined }
  | { kind: "multipart"; json: undefined; multipart: MultipartBody }
  | { kind: "invalid-json"; json: undefined; multipart: undefined; text: string };

/** Parses a body by content type; invalid JSON is reported, not thrown. */
export async function parseBody(contentType: string, raw: Buffer): Promise<ParsedBody> {
  if (raw.length === 0) return { kind: "none", json: undefined, multipart: undefined };
  if (contentType.startsWith("multipart/form-data")) {
    // undici (fetch's Request) parses multipart for us.
    const form = await new Request("http://127.0.0.1/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: raw,
    })
      .formData()
      .catch(() => {
        throw new ApiError(400, "Could not parse the multipart/form-data body.");
      });
    const multipart: MultipartBody = { fields: {}, files: [] };
    for (const [field, value] of form) {
      if (typeof value === "string") multipart.fields[field] = value;
      else {
        const content = Buffer.from(await value.arrayBuffer());
        multipart.files.push({ field, filename: value.name, contentType: value.type, content });
      }
    }
    return { kind: "multipart", json: undefined, multipart };
  }
  const text = raw.toString("utf8");
  try {
    return { kind: "json", json: parseJson(text), multipart: undefined };
  } catch {
    return { kind: "invalid-json", json: undefined, multipart: undefined, text };
  }
}
