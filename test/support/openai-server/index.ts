/**
 * A local OpenAI-compatible server for tests, checked against the official OpenAPI description
 * (shared/openai-openapi/openapi.json). Point the real `openai` SDK at it:
 *
 *   const server = await startOpenAIServer();
 *   const client = new OpenAI({ apiKey: "test", baseURL: server.baseURL, maxRetries: 2 });
 *   server.injectFaults([{ path: "/v1/embeddings", status: 429, retryAfterMs: 10, times: 2 }]);
 *   server.setResponder(() => ({ text: "An answer [1]." }));
 *   …
 *   await server.close();
 */
export type {
  ConformanceProblem,
  OpenAIServer,
  OpenAIServerOptions,
  RecordedRequest,
} from "./api.ts";
export type { BatchBehaviour } from "./batches.ts";
export {
  EMBEDDING_MODELS,
  type EmbeddingLimits,
  type EmbeddingModelInfo,
  embedText,
} from "./embeddings.ts";
export type { Fault } from "./faults.ts";
export type { OpenAIErrorBody } from "./http.ts";
export type { MultipartBody } from "./intake.ts";
export {
  defaultResponder,
  type Responder,
  type ResponderRequest,
  type ResponderResult,
  type StoredResponse,
  type StreamErrorShape,
} from "./responses.ts";
export type { SchemaCheck, SchemaIssue } from "./schemas.ts";
export { startOpenAIServer } from "./server.ts";
