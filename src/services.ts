import type { Logger } from "pino";
import type { AnswerService } from "./answer/answer-service.ts";
import type { Config } from "./config.ts";
import type { EmbedderRegistry } from "./embed/embedder-registry.ts";
import type { IngestService } from "./ingest/ingest-service.ts";
import type { SearchService } from "./search/search-service.ts";
import type { Store } from "./store/store.ts";

/** Everything the HTTP API and the CLI work with, built once by the composition root. */
export interface Services {
  config: Config;
  logger: Logger;
  store: Store;
  embedders: EmbedderRegistry;
  ingest: IngestService;
  search: SearchService;
  answers: AnswerService;
  /** Flips to true once indexes are loaded; /readyz reports it. */
  readiness: { ready: boolean };
}
