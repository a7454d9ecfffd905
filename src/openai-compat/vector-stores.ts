/*
 * OpenAI vector stores over Gleaner: a vector store is a collection named by its id (`vs_…`
 * fits the collection name pattern), a vector store file is the document whose id is the file's
 * id, and its attributes are the document's metadata. What has no native counterpart (the
 * store's name, metadata and expiry; a file's chunking and cancellation; file batches) lives in
 * the store's openai_objects table.
 */
import { resolveCollectionSettings } from "../collection-settings.ts";
import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import { AppError } from "../errors.ts";
import type { IngestService } from "../ingest/ingest-service.ts";
import type { ChunkingConfig, DocumentRecord, Metadata, Store } from "../store/store.ts";
import { type FileRepository, KIND, newId, unixNow } from "./files.ts";
import type { Attributes, ChunkingStrategy } from "./schemas.ts";

/** OpenAI's `auto` chunking: 800-token chunks overlapping by 400. */
export const AUTO_CHUNKING: ChunkingConfig = { maxTokens: 800, overlapTokens: 400 };

export type FileStatus = "in_progress" | "completed" | "failed" | "cancelled";

export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

interface ExpiresAfter {
  anchor: "last_active_at";
  days: number;
}

interface VectorStoreBody {
  name: string | null;
  metadata: Record<string, string>;
  expires_after: ExpiresAfter | null;
  last_active_at: number;
}

interface AttachmentBody {
  chunking: ChunkingConfig;
  cancelled?: boolean;
  /** Set when the upload was refused before processing (e.g. an unsupported type). */
  failed?: { code: string; message: string };
  batch_id?: string;
}

interface BatchBody {
  file_ids: string[];
  cancelled: boolean;
}

/** One attached file with its document (null when the upload was refused or cancelled). */
export interface Attachment {
  fileId: string;
  vectorStoreId: string;
  createdAt: number;
  body: AttachmentBody;
  document: DocumentRecord | null;
}

export function chunkingOf(strategy: ChunkingStrategy | undefined): ChunkingConfig {
  if (!strategy || strategy.type === "auto") return AUTO_CHUNKING;
  return {
    maxTokens: strategy.static.max_chunk_size_tokens,
    overlapTokens: strategy.static.chunk_overlap_tokens,
  };
}

export function statusOf(attachment: Attachment): FileStatus {
  if (attachment.body.cancelled) return "cancelled";
  if (attachment.body.failed) return "failed";
  const document = attachment.document;
  if (!document) return "failed";
  if (document.status === "ready") return "completed";
  if (document.status === "failed") return "failed";
  return "in_progress";
}

/** last_error as OpenAI words it: the codes are server_error, unsupported_file, invalid_file. */
export function lastErrorOf(attachment: Attachment): { code: string; message: string } | null {
  if (statusOf(attachment) !== "failed") return null;
  if (attachment.body.failed) return attachment.body.failed;
  const error = attachment.document?.error;
  if (!error) return { code: "server_error", message: "The file's document no longer exists." };
  const code =
    error.type === "unsupported_media_type"
      ? "unsupported_file"
      : error.type === "unprocessable" || error.type === "invalid_request"
        ? "invalid_file"
        : "server_error";
  return { code, message: error.message };
}

export function countFiles(attachments: readonly Attachment[]): FileCounts {
  const counts: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
  for (const attachment of attachments) {
    counts[statusOf(attachment)] += 1;
    counts.total += 1;
  }
  return counts;
}

export interface VectorStoreSettings {
  id: string;
  createdAt: number;
  body: VectorStoreBody;
}

export interface VectorStoreView extends VectorStoreSettings {
  attachments: Attachment[];
}

/** The vector stores, their files and file batches. */
export class VectorStores {
  constructor(
    private readonly deps: {
      store: Store;
      ingest: IngestService;
      embedders: EmbedderRegistry;
      files: FileRepository;
    },
  ) {}

  async create(input: {
    name?: string | undefined;
    metadata?: Record<string, string> | null | undefined;
    expiresAfter?: ExpiresAfter | undefined;
    fileIds?: string[] | undefined;
    chunking?: ChunkingStrategy | undefined;
  }): Promise<VectorStoreView> {
    const { store, embedders, files } = this.deps;
    for (const fileId of input.fileIds ?? []) await files.get(fileId, "file_ids");
    const id = newId("vs_");
    const createdAt = unixNow();
    await store.createCollection(
      resolveCollectionSettings(
        {
          name: id,
          description: `OpenAI vector store ${input.name ?? ""}`.trim(),
          chunking: AUTO_CHUNKING,
        },
        embedders,
      ),
    );
    const body: VectorStoreBody = {
      name: input.name ?? null,
      metadata: input.metadata ?? {},
      expires_after: input.expiresAfter ?? null,
      last_active_at: createdAt,
    };
    await store.putOpenAIObject({
      kind: KIND.vectorStore,
      parent: "",
      id,
      createdAt,
      body: body as unknown as Record<string, unknown>,
    });
    for (const fileId of input.fileIds ?? []) {
      await this.attach(id, { fileId, chunking: chunkingOf(input.chunking) });
    }
    return this.get(id);
  }

  /** The store with its files (file_counts, usage_bytes need them); not_found when absent. */
  async get(id: string): Promise<VectorStoreView> {
    const settings = await this.settings(id);
    return { ...settings, attachments: await this.attachments(id) };
  }

  /** The store without reading its files: what search and existence checks need. */
  async settings(id: string): Promise<VectorStoreSettings> {
    const object = await this.deps.store.getOpenAIObject(KIND.vectorStore, "", id);
    if (!object || !(await this.deps.store.getCollection(id))) {
      throw new AppError("not_found", `No vector store with id "${id}".`, {
        param: "vector_store_id",
      });
    }
    return { id, createdAt: object.createdAt, body: object.body as unknown as VectorStoreBody };
  }

  async list(): Promise<VectorStoreView[]> {
    const objects = await this.deps.store.listOpenAIObjects({ kind: KIND.vectorStore, parent: "" });
    const views: VectorStoreView[] = [];
    for (const object of objects) {
      // a store whose collection was deleted through the native API is gone
      if (!(await this.deps.store.getCollection(object.id))) continue;
      views.push(await this.get(object.id));
    }
    return views;
  }

  async update(
    id: string,
    change: {
      name?: string | null | undefined;
      metadata?: Record<string, string> | null | undefined;
      expiresAfter?: ExpiresAfter | null | undefined;
    },
  ): Promise<VectorStoreView> {
    const view = await this.settings(id);
    const body: VectorStoreBody = {
      ...view.body,
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.metadata !== undefined ? { metadata: change.metadata ?? {} } : {}),
      ...(change.expiresAfter !== undefined ? { expires_after: change.expiresAfter } : {}),
    };
    await this.putBody(id, view.createdAt, body);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.settings(id);
    const { store } = this.deps;
    await store.deleteCollection(id);
    await store.deleteOpenAIObjects({ kind: KIND.vectorStoreFile, parent: id });
    await store.deleteOpenAIObjects({ kind: KIND.fileBatch, parent: id });
    await store.deleteOpenAIObjects({ kind: KIND.vectorStore, id });
  }

  /** Records use of the store (searches and answers), which pushes its expiry back. */
  async touch(view: VectorStoreSettings): Promise<void> {
    if (isExpired(view)) {
      throw new AppError(
        "invalid_request",
        `Vector store "${view.id}" has expired; set a new expires_after or create another.`,
        { param: "vector_store_id" },
      );
    }
    await this.putBody(view.id, view.createdAt, { ...view.body, last_active_at: unixNow() });
  }

  private putBody(id: string, createdAt: number, body: VectorStoreBody): Promise<void> {
    return this.deps.store.putOpenAIObject({
      kind: KIND.vectorStore,
      parent: "",
      id,
      createdAt,
      body: body as unknown as Record<string, unknown>,
    });
  }

  /** Attaches a file: queues its ingestion (the caller polls the status). */
  async attach(
    vectorStoreId: string,
    input: {
      fileId: string;
      attributes?: Attributes | null | undefined;
      chunking: ChunkingConfig;
      batchId?: string | undefined;
    },
  ): Promise<Attachment> {
    const { store, ingest, files } = this.deps;
    const file = await files.get(input.fileId);
    const bytes = await files.content(file.id);
    const body: AttachmentBody = {
      chunking: input.chunking,
      ...(input.batchId ? { batch_id: input.batchId } : {}),
    };
    const existing = await store.getOpenAIObject(KIND.vectorStoreFile, vectorStoreId, file.id);
    // re-attaching with other chunking must re-chunk: the same bytes alone would be a no-op
    if (existing && !sameChunking(existing.body.chunking, input.chunking)) {
      await store.deleteDocument(vectorStoreId, file.id);
    }
    try {
      const submitted = await ingest.submit({
        collection: vectorStoreId,
        documentId: file.id,
        title: file.filename,
        metadata: (input.attributes ?? {}) as Metadata,
        filename: file.filename,
        declaredType: file.mediaType,
        bytes,
        chunking: input.chunking,
      });
      // the same bytes again are not processed again; their attributes are still the new ones
      if (!submitted.queued) {
        await store.updateDocumentMetadata(
          vectorStoreId,
          file.id,
          (input.attributes ?? {}) as Metadata,
        );
      }
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || error.type === "not_found") {
        throw error;
      }
      // refused before processing (an unsupported type): a failed vector store file, as OpenAI
      body.failed = {
        code: error.type === "unsupported_media_type" ? "unsupported_file" : "invalid_file",
        message: error.message,
      };
    }
    await store.putOpenAIObject({
      kind: KIND.vectorStoreFile,
      parent: vectorStoreId,
      id: file.id,
      createdAt: existing?.createdAt ?? unixNow(),
      body: body as unknown as Record<string, unknown>,
    });
    return this.attachment(vectorStoreId, file.id);
  }

  async attachment(vectorStoreId: string, fileId: string): Promise<Attachment> {
    const { store } = this.deps;
    const object = await store.getOpenAIObject(KIND.vectorStoreFile, vectorStoreId, fileId);
    if (!object) {
      throw new AppError("not_found", `No file "${fileId}" in vector store "${vectorStoreId}".`, {
        param: "file_id",
      });
    }
    return {
      fileId,
      vectorStoreId,
      createdAt: object.createdAt,
      body: object.body as unknown as AttachmentBody,
      document: await store.getDocument(vectorStoreId, fileId),
    };
  }

  async attachments(vectorStoreId: string): Promise<Attachment[]> {
    const { store } = this.deps;
    const objects = await store.listOpenAIObjects({
      kind: KIND.vectorStoreFile,
      parent: vectorStoreId,
    });
    return Promise.all(
      objects.map(async (object) => ({
        fileId: object.id,
        vectorStoreId,
        createdAt: object.createdAt,
        body: object.body as unknown as AttachmentBody,
        document: await store.getDocument(vectorStoreId, object.id),
      })),
    );
  }

  /** New attributes, applied to the stored chunks without embedding anything again. */
  async updateAttributes(
    vectorStoreId: string,
    fileId: string,
    attributes: Attributes | null,
  ): Promise<Attachment> {
    const attachment = await this.attachment(vectorStoreId, fileId);
    if (attachment.document) {
      await this.deps.store.updateDocumentMetadata(vectorStoreId, fileId, attributes ?? {});
    }
    return this.attachment(vectorStoreId, fileId);
  }

  async detach(vectorStoreId: string, fileId: string): Promise<void> {
    await this.attachment(vectorStoreId, fileId);
    await this.deps.store.deleteDocument(vectorStoreId, fileId);
    await this.deps.store.deleteOpenAIObjects({
      kind: KIND.vectorStoreFile,
      parent: vectorStoreId,
      id: fileId,
    });
  }

  /** Deleting a file removes it from every vector store, as OpenAI does. */
  async detachEverywhere(fileId: string): Promise<void> {
    const { store } = this.deps;
    const attached = await store.listOpenAIObjects({ kind: KIND.vectorStoreFile, id: fileId });
    for (const object of attached) {
      if (await store.getCollection(object.parent))
        await store.deleteDocument(object.parent, fileId);
    }
    await store.deleteOpenAIObjects({ kind: KIND.vectorStoreFile, id: fileId });
  }

  async createBatch(
    vectorStoreId: string,
    input: {
      files: {
        fileId: string;
        attributes?: Attributes | null | undefined;
        chunking: ChunkingConfig;
      }[];
    },
  ): Promise<BatchView> {
    await this.settings(vectorStoreId);
    for (const file of input.files) await this.deps.files.get(file.fileId, "file_ids");
    const id = newId("vsfb_");
    const body: BatchBody = { file_ids: input.files.map((file) => file.fileId), cancelled: false };
    await this.deps.store.putOpenAIObject({
      kind: KIND.fileBatch,
      parent: vectorStoreId,
      id,
      createdAt: unixNow(),
      body: body as unknown as Record<string, unknown>,
    });
    for (const file of input.files) await this.attach(vectorStoreId, { ...file, batchId: id });
    return this.batch(vectorStoreId, id);
  }

  async batch(vectorStoreId: string, batchId: string): Promise<BatchView> {
    await this.settings(vectorStoreId);
    const object = await this.deps.store.getOpenAIObject(KIND.fileBatch, vectorStoreId, batchId);
    if (!object) {
      throw new AppError("not_found", `No file batch with id "${batchId}".`, { param: "batch_id" });
    }
    const body = object.body as unknown as BatchBody;
    const attachments: Attachment[] = [];
    for (const fileId of body.file_ids) {
      const attachment = await this.attachment(vectorStoreId, fileId).catch(() => null);
      // a file since detached or attached again by another batch is no longer this batch's
      if (attachment && attachment.body.batch_id === batchId) attachments.push(attachment);
    }
    return {
      id: batchId,
      vectorStoreId,
      createdAt: object.createdAt,
      cancelled: body.cancelled,
      attachments,
    };
  }

  /** Stops the batch's files still in progress: their uploads are withdrawn, marked cancelled. */
  async cancelBatch(vectorStoreId: string, batchId: string): Promise<BatchView> {
    const batch = await this.batch(vectorStoreId, batchId);
    const { store } = this.deps;
    for (const attachment of batch.attachments) {
      if (statusOf(attachment) !== "in_progress") continue;
      await store.deleteDocument(vectorStoreId, attachment.fileId);
      await store.putOpenAIObject({
        kind: KIND.vectorStoreFile,
        parent: vectorStoreId,
        id: attachment.fileId,
        createdAt: attachment.createdAt,
        body: { ...attachment.body, cancelled: true } as unknown as Record<string, unknown>,
      });
    }
    const object = await store.getOpenAIObject(KIND.fileBatch, vectorStoreId, batchId);
    if (object) {
      await store.putOpenAIObject({ ...object, body: { ...object.body, cancelled: true } });
    }
    return this.batch(vectorStoreId, batchId);
  }
}

export interface BatchView {
  id: string;
  vectorStoreId: string;
  createdAt: number;
  cancelled: boolean;
  attachments: Attachment[];
}

export function expiresAt(view: VectorStoreSettings): number | null {
  const after = view.body.expires_after;
  return after ? view.body.last_active_at + after.days * 86_400 : null;
}

export function isExpired(view: VectorStoreSettings): boolean {
  const at = expiresAt(view);
  return at !== null && at <= unixNow();
}

function sameChunking(stored: unknown, chunking: ChunkingConfig): boolean {
  const value = stored as Partial<ChunkingConfig> | undefined;
  return value?.maxTokens === chunking.maxTokens && value?.overlapTokens === chunking.overlapTokens;
}
