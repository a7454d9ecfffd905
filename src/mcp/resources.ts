import type { Resource, ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";
import { AppError, notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import type { DocumentRecord } from "../store/store.ts";
import { assembleDocumentText, type PageSpan } from "./document-text.ts";

const SCHEME = "gleaner://";
/** Resources per resources/list page. */
const PAGE_SIZE = 100;

export const DOCUMENT_TEMPLATE: ResourceTemplate = {
  uriTemplate: `${SCHEME}{collection}/{document}`,
  name: "document",
  title: "A document's text",
  description:
    "The extracted text of a document (its id percent-encoded), with the character span of each page in _meta.pages.",
  mimeType: "text/plain",
};

/** The resource URI of a document. */
export function documentUri(collection: string, id: string): string {
  return `${SCHEME}${encodeURIComponent(collection)}/${encodeURIComponent(id)}`;
}

function parseDocumentUri(uri: string): { collection: string; id: string } {
  const match = /^gleaner:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match) {
    try {
      return {
        collection: decodeURIComponent(match[1] as string),
        id: decodeURIComponent(match[2] as string),
      };
    } catch {
      // malformed percent-encoding: refused below like any other bad URI
    }
  }
  throw new AppError(
    "invalid_request",
    `uri: document resources look like ${SCHEME}{collection}/{document id, percent-encoded}.`,
    { param: "uri" },
  );
}

function describe(document: DocumentRecord): Resource {
  return {
    uri: documentUri(document.collection, document.id),
    name: document.id,
    title: document.title ?? document.id,
    mimeType: "text/plain",
    description: `${document.source.filename ?? document.source.mediaType} in "${document.collection}" (${document.status})`,
  };
}

/** Where resources/list goes on: the collection being listed and the last document listed. */
interface Cursor {
  collection: string;
  after: string;
}

const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(JSON.stringify(cursor)).toString("base64url");

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString());
    if (
      typeof value === "object" &&
      value !== null &&
      "collection" in value &&
      "after" in value &&
      typeof value.collection === "string" &&
      typeof value.after === "string"
    ) {
      return { collection: value.collection, after: value.after };
    }
  } catch {
    // not ours: refused below
  }
  throw new AppError("invalid_request", "cursor: pass a nextCursor from resources/list.", {
    param: "cursor",
  });
}

/** One page of every collection's documents, collection by collection. */
export async function listDocumentResources(
  services: Services,
  cursorText: string | undefined,
): Promise<{ resources: Resource[]; nextCursor?: string }> {
  const names = (await services.store.listCollections()).map((c) => c.name).sort();
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  const resources: Resource[] = [];
  let after = cursor?.after;
  // a collection deleted between pages: go on with the next name after it
  for (const name of names.filter((n) => cursor === undefined || n >= cursor.collection)) {
    if (name !== cursor?.collection) after = undefined;
    const page = await services.store.listDocuments(name, {
      limit: PAGE_SIZE - resources.length,
      after,
    });
    resources.push(...page.documents.map(describe));
    const last = page.documents.at(-1);
    if (page.hasMore && last) {
      return { resources, nextCursor: encodeCursor({ collection: name, after: last.id }) };
    }
    if (resources.length === PAGE_SIZE) {
      const next = names.find((n) => n > name);
      return next === undefined
        ? { resources }
        : { resources, nextCursor: encodeCursor({ collection: next, after: "" }) };
    }
  }
  return { resources };
}

/** A document's text, with its details and page spans in _meta. */
export async function readDocumentResource(
  services: Services,
  uri: string,
): Promise<{
  contents: { uri: string; mimeType: string; text: string; _meta: Record<string, unknown> }[];
}> {
  const { collection, id } = parseDocumentUri(uri);
  if (!(await services.store.getCollection(collection))) {
    throw notFound(`Collection "${collection}"`, "uri");
  }
  const document = await services.store.getDocument(collection, id);
  if (!document) throw notFound(`Document "${id}" in collection "${collection}"`, "uri");
  const { text, pages } = assembleDocumentText(
    await services.store.listDocumentChunks(collection, id),
  );
  const meta: { pages: PageSpan[]; [key: string]: unknown } = {
    collection,
    document_id: id,
    title: document.title,
    status: document.status,
    page_count: document.pageCount,
    pages,
  };
  return {
    contents: [{ uri: documentUri(collection, id), mimeType: "text/plain", text, _meta: meta }],
  };
}
