import { randomBytes } from "node:crypto";
import { AppError } from "../errors.ts";
import type { OpenAIObject, Store } from "../store/store.ts";

/** Kinds of rows in the store's openai_objects table. */
export const KIND = {
  file: "file",
  vectorStore: "vector_store",
  vectorStoreFile: "vector_store_file",
  fileBatch: "file_batch",
} as const;

/** Purposes Gleaner keeps files for: what vector stores read. */
export const FILE_PURPOSES = ["assistants", "user_data"] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

export interface StoredFile {
  id: string;
  filename: string;
  bytes: number;
  purpose: FilePurpose;
  mediaType: string | null;
  createdAt: number;
}

/** An id in OpenAI's style: a prefix and 24 random lowercase hex digits. */
export function newId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString("hex")}`;
}

/** Now, in the unix seconds OpenAI reports. */
export const unixNow = (): number => Math.floor(Date.now() / 1000);

/** The OpenAIFile object. */
export function fileJson(file: StoredFile) {
  return {
    id: file.id,
    object: "file" as const,
    bytes: file.bytes,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed" as const,
  };
}

function toStoredFile(object: OpenAIObject): StoredFile {
  const body = object.body as {
    filename: string;
    bytes: number;
    purpose: FilePurpose;
    media_type: string | null;
  };
  return {
    id: object.id,
    filename: body.filename,
    bytes: body.bytes,
    purpose: body.purpose,
    mediaType: body.media_type,
    createdAt: object.createdAt,
  };
}

/** Uploaded files: kept (bytes included) until deleted, as several vector stores may read one. */
export class FileRepository {
  constructor(private readonly store: Store) {}

  async create(input: {
    filename: string;
    purpose: FilePurpose;
    mediaType: string | null;
    bytes: Uint8Array;
  }): Promise<StoredFile> {
    const file: StoredFile = {
      id: newId("file-"),
      filename: input.filename,
      bytes: input.bytes.byteLength,
      purpose: input.purpose,
      mediaType: input.mediaType,
      createdAt: unixNow(),
    };
    await this.store.putOpenAIObject(
      {
        kind: KIND.file,
        parent: "",
        id: file.id,
        createdAt: file.createdAt,
        body: {
          filename: file.filename,
          bytes: file.bytes,
          purpose: file.purpose,
          media_type: file.mediaType,
        },
      },
      input.bytes,
    );
    return file;
  }

  async find(id: string): Promise<StoredFile | null> {
    const object = await this.store.getOpenAIObject(KIND.file, "", id);
    return object ? toStoredFile(object) : null;
  }

  /** The file, or not_found naming `param`. */
  async get(id: string, param = "file_id"): Promise<StoredFile> {
    const file = await this.find(id);
    if (!file) throw new AppError("not_found", `No file with id "${id}".`, { param });
    return file;
  }

  async content(id: string): Promise<Uint8Array> {
    await this.get(id);
    return (await this.store.getOpenAIContent(KIND.file, "", id)) ?? new Uint8Array();
  }

  async list(purpose?: string): Promise<StoredFile[]> {
    const files = (await this.store.listOpenAIObjects({ kind: KIND.file })).map(toStoredFile);
    return purpose ? files.filter((file) => file.purpose === purpose) : files;
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.store.deleteOpenAIObjects({ kind: KIND.file, id });
  }
}
