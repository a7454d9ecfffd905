/** Gleaner records as the objects of OpenAI's API (shapes from the official spec). */
import type { Metadata } from "../store/store.ts";
import type { Attributes, ChunkingStrategy } from "./schemas.ts";
import {
  type Attachment,
  type BatchView,
  countFiles,
  expiresAt,
  isExpired,
  lastErrorOf,
  statusOf,
  type VectorStoreView,
} from "./vector-stores.ts";

/** Metadata as VectorStoreFileAttributes: only the scalar values OpenAI allows. */
export function attributesOf(metadata: Metadata): Attributes {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      attributes[key] = value;
    }
  }
  return attributes;
}

export function vectorStoreJson(view: VectorStoreView) {
  const counts = countFiles(view.attachments);
  const usageBytes = view.attachments.reduce(
    (sum, attachment) => sum + (statusOf(attachment) === "completed" ? usageOf(attachment) : 0),
    0,
  );
  return {
    id: view.id,
    object: "vector_store" as const,
    created_at: view.createdAt,
    name: view.body.name ?? "",
    usage_bytes: usageBytes,
    file_counts: counts,
    status: isExpired(view)
      ? ("expired" as const)
      : counts.in_progress > 0
        ? ("in_progress" as const)
        : ("completed" as const),
    ...(view.body.expires_after ? { expires_after: view.body.expires_after } : {}),
    expires_at: expiresAt(view),
    last_active_at: view.body.last_active_at,
    metadata: view.body.metadata,
  };
}

/** Bytes a file takes in the store: its extracted text, as near as Gleaner records it. */
function usageOf(attachment: Attachment): number {
  return attachment.document?.source.bytes ?? 0;
}

function chunkingStrategyJson(attachment: Attachment): ChunkingStrategy {
  return {
    type: "static",
    static: {
      max_chunk_size_tokens: attachment.body.chunking.maxTokens,
      chunk_overlap_tokens: attachment.body.chunking.overlapTokens,
    },
  };
}

export function vectorStoreFileJson(attachment: Attachment) {
  const status = statusOf(attachment);
  return {
    id: attachment.fileId,
    object: "vector_store.file" as const,
    usage_bytes: status === "completed" ? usageOf(attachment) : 0,
    created_at: attachment.createdAt,
    vector_store_id: attachment.vectorStoreId,
    status,
    last_error: lastErrorOf(attachment),
    chunking_strategy: chunkingStrategyJson(attachment),
    attributes: attributesOf(attachment.document?.metadata ?? {}),
  };
}

export function fileBatchJson(batch: BatchView) {
  const counts = countFiles(batch.attachments);
  return {
    id: batch.id,
    object: "vector_store.files_batch" as const,
    created_at: batch.createdAt,
    vector_store_id: batch.vectorStoreId,
    status: batch.cancelled
      ? ("cancelled" as const)
      : counts.in_progress > 0
        ? ("in_progress" as const)
        : ("completed" as const),
    file_counts: counts,
  };
}
