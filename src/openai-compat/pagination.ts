import { z } from "zod";
import { AppError } from "../errors.ts";

/** OpenAI's cursor parameters: `limit`, `order` by creation, `after` / `before` an object id. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(["asc", "desc"]).default("desc"),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
});

/** GET /files pages up to 10,000 files, all of them by default. */
export const FilePageQuerySchema = PageQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
});

export type PageQuery = z.infer<typeof PageQuerySchema>;

export interface Page<T> {
  object: "list";
  data: T[];
  first_id: string;
  last_id: string;
  has_more: boolean;
}

/**
 * One page of `items` (oldest first, as stored) in the asked order. `after` and `before` name
 * objects of the list; an unknown cursor is a 400, as a stale cursor should not read as "empty".
 * An empty page reports "" for first_id and last_id (the spec types them as strings).
 */
export function paginate<T extends { id: string }>(items: readonly T[], query: PageQuery): Page<T> {
  const ordered = query.order === "asc" ? [...items] : [...items].reverse();
  const position = (cursor: string, param: string): number => {
    const index = ordered.findIndex((item) => item.id === cursor);
    if (index < 0) {
      throw new AppError(
        "invalid_request",
        `${param}: no object with id "${cursor}" in this list.`,
        {
          param,
        },
      );
    }
    return index;
  };
  let start = 0;
  let end = ordered.length;
  if (query.after !== undefined) start = position(query.after, "after") + 1;
  if (query.before !== undefined) end = position(query.before, "before");
  let window = ordered.slice(start, Math.max(start, end));
  let hasMore: boolean;
  if (query.before !== undefined && query.after === undefined) {
    // the page just before the cursor: the nearest `limit` objects
    hasMore = window.length > query.limit;
    window = window.slice(-query.limit);
  } else {
    hasMore = window.length > query.limit;
    window = window.slice(0, query.limit);
  }
  return {
    object: "list",
    data: window,
    first_id: window[0]?.id ?? "",
    last_id: window.at(-1)?.id ?? "",
    has_more: hasMore,
  };
}
