import { randomBytes } from "node:crypto";
import { ApiError, type JsonObject, unixNow } from "./http.ts";

/** A file held in memory. */
export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: Buffer;
  createdAt: number;
  expiresAt: number | null;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** An id like OpenAI's: `file-` and 22 base62 characters. */
export function newFileId(): string {
  let id = "file-";
  for (const byte of randomBytes(22)) id += BASE62[byte % 62];
  return id;
}

/** In-memory /v1/files storage, bounded by count (oldest dropped first). */
export class FileStore {
  readonly #files = new Map<string, StoredFile>();
  readonly #maxFiles: number;

  constructor(maxFiles = 1000) {
    this.#maxFiles = maxFiles;
  }

  /** Stores content under a new id. */
  create(params: {
    filename: string;
    purpose: string;
    content: Buffer;
    expiresAfterSeconds?: number;
  }): StoredFile {
    const createdAt = unixNow();
    const file: StoredFile = {
      id: newFileId(),
      filename: params.filename,
      purpose: params.purpose,
      content: params.content,
      createdAt,
      expiresAt:
        params.expiresAfterSeconds === undefined ? null : createdAt + params.expiresAfterSeconds,
    };
    this.#files.set(file.id, file);
    while (this.#files.size > this.#maxFiles) {
      const oldest = this.#files.keys().next().value;
      if (oldest === undefined) break;
      this.#files.delete(oldest);
    }
    return file;
  }

  /** The file, or OpenAI's 404 for an unknown id. */
  get(id: string, param: string | null = null): StoredFile {
    const file = this.#files.get(id);
    if (!file) {
      throw new ApiError(404, `No such File object: ${id}`, { param: param ?? "id" });
    }
    return file;
  }

  /** Removes a file; throws 404 when unknown. */
  delete(id: string): void {
    this.get(id);
    this.#files.delete(id);
  }

  /** All files, oldest first. */
  list(): StoredFile[] {
    return [...this.#files.values()];
  }

  /** Forgets every file. */
  clear(): void {
    this.#files.clear();
  }
}

/** The `OpenAIFile` object for a stored file. */
export function fileObject(file: StoredFile): JsonObject {
  return {
    id: file.id,
    object: "file",
    bytes: file.content.length,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed",
    ...(file.expiresAt === null ? {} : { expires_at: file.expiresAt }),
  };
}
