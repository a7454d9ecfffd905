import type { hc, InferRequestType, InferResponseType } from "hono/client";
import type { AppType } from "../api/app.ts";

// Every type here is derived from the server's routes, so the client cannot drift from them.
type Api = ReturnType<typeof hc<AppType>>;
type CollectionsApi = Api["v1"]["collections"];
type CollectionApi = CollectionsApi[":name"];
type DocumentApi = CollectionApi["documents"][":id"];
type AnswerRoute = CollectionApi["answer"]["$post"];

export type Collection = InferResponseType<CollectionApi["$get"], 200>;
export type CreateCollectionRequest = InferRequestType<CollectionsApi["$post"]>["json"];
export type GleanerDocument = InferResponseType<DocumentApi["$get"], 200>;
export type DocumentPage = InferResponseType<CollectionApi["documents"]["$get"], 200>;
export type ListDocumentsQuery = InferRequestType<CollectionApi["documents"]["$get"]>["query"];
export type SearchRequest = InferRequestType<CollectionApi["search"]["$post"]>["json"];
export type SearchResponse = InferResponseType<CollectionApi["search"]["$post"], 200>;
export type SearchResult = SearchResponse["data"][number];
/** A text document as JSON (`text` instead of a file). */
export interface TextDocument {
  id?: string;
  title?: string;
  text: string;
  metadata?: Record<string, unknown>;
}

// the 200 reply is JSON or, when streamed, the raw event-stream Response
export type AnswerResponse = Extract<InferResponseType<AnswerRoute, 200>, { answer: string }>;
export type AnswerRequest = Omit<InferRequestType<AnswerRoute>["json"], "stream">;
export type Citation = AnswerResponse["citations"][number];
export type AnswerSource = AnswerResponse["sources"][number];

/** The events of a streamed answer, with their data parsed. */
export type AnswerEvent =
  | { event: "sources"; data: AnswerSource[] }
  | { event: "delta"; data: { text: string } }
  | { event: "done"; data: AnswerResponse };
