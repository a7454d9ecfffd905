/** Bytes sent so far of a request body, and its total when known. */
export interface UploadProgress {
  loaded: number;
  total: number | null;
}

// The subset of XMLHttpRequest used here; declared locally because the project's TypeScript
// library set is Node's, which has no DOM types.
interface ProgressLike {
  loaded: number;
  total: number;
  lengthComputable: boolean;
}
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body?: unknown): void;
  abort(): void;
  getAllResponseHeaders(): string;
  responseType: string;
  response: unknown;
  status: number;
  statusText: string;
  upload: { onprogress: ((event: ProgressLike) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
type XhrConstructor = new () => XhrLike;

/** Whether this runtime has XMLHttpRequest (browsers do; Node does not). */
export function hasXhr(): boolean {
  return typeof (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest === "function";
}

/**
 * A `fetch` built on XMLHttpRequest, because fetch cannot report upload progress. Used only
 * for uploads in a browser; the response is a standard Response.
 */
export function xhrFetch(onProgress: (progress: UploadProgress) => void): typeof fetch {
  const Xhr = (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
  if (!Xhr) throw new Error("XMLHttpRequest is not available in this runtime.");
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = input instanceof Request ? input.url : String(input);
      const xhr = new Xhr();
      xhr.open(init.method ?? "GET", url);
      xhr.responseType = "blob";
      new Headers(init.headers).forEach((value, name) => {
        xhr.setRequestHeader(name, value);
      });
      xhr.upload.onprogress = (event) =>
        onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : null });
      xhr.onload = () => {
        const nullBody = [101, 204, 205, 304].includes(xhr.status);
        resolve(
          new Response(nullBody ? null : (xhr.response as Blob), {
            status: xhr.status,
            statusText: xhr.statusText,
            headers: parseHeaders(xhr.getAllResponseHeaders()),
          }),
        );
      };
      xhr.onerror = () => reject(new TypeError("Network error while uploading."));
      xhr.onabort = () => reject(new DOMException("The upload was aborted.", "AbortError"));
      init.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      // XHR sets a multipart boundary for FormData itself
      xhr.send(init.body ?? null);
    });
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}
