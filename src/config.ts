import { z } from "zod";

const booleanFromString = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((value) => value === "true" || value === "1" || value === "yes");

const keyList = z.string().transform((value) =>
  value
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key.length > 0),
);

const positiveInt = z.coerce.number().int().positive();

/** Every setting Gleaner reads from the environment, with its default. */
const environmentSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  GLEANER_DATA_DIR: z.string().min(1).default("./data"),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  GLEANER_EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
  GLEANER_EMBEDDING_DIMENSIONS: positiveInt.max(3072).default(512),
  GLEANER_LOCAL_EMBEDDING_DIMENSIONS: positiveInt.min(32).max(4096).default(256),
  GLEANER_ANSWER_MODEL: z.string().min(1).default("gpt-5-mini"),
  GLEANER_API_KEYS: keyList.default([]),
  GLEANER_READ_API_KEYS: keyList.default([]),
  GLEANER_MAX_UPLOAD_BYTES: positiveInt.default(52_428_800),
  GLEANER_ALLOW_UNAUTHENTICATED: booleanFromString.default(false),
  GLEANER_INGEST_CONCURRENCY: positiveInt.max(32).default(2),
  GLEANER_PDF_TIMEOUT_MS: positiveInt.default(60_000),
  GLEANER_OPENAI_TIMEOUT_MS: positiveInt.default(60_000),
  GLEANER_OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  GLEANER_OPENAI_TPM: positiveInt.default(5_000_000),
  GLEANER_OPENAI_RPM: positiveInt.default(10_000),
  GLEANER_OPENAI_EMBED_CONCURRENCY: positiveInt.max(64).default(4),
  GLEANER_BATCH_POLL_MS: positiveInt.default(10_000),
  GLEANER_BATCH_POLL_MAX_MS: positiveInt.default(300_000),
  GLEANER_BATCH_WINDOW_MS: positiveInt.default(2_000),
  GLEANER_RATE_LIMIT_RPS: z.coerce.number().min(0).max(100_000).default(0),
  GLEANER_RATE_LIMIT_BURST: positiveInt.max(1_000_000).optional(),
  GLEANER_CORS_ORIGINS: keyList.default([]),
  GLEANER_SHUTDOWN_TIMEOUT_MS: positiveInt.default(30_000),
  GLEANER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  GLEANER_DATABASE_POOL_SIZE: positiveInt.max(1000).default(10),
  GLEANER_JOB_LEASE_SECONDS: positiveInt.max(3600).default(60),
  GLEANER_EXACT_SEARCH_BUDGET: z.coerce.number().int().min(0).max(1_000_000_000).default(5_120_000),
  GLEANER_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info"),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  openai: {
    apiKey: string | undefined;
    baseURL: string | undefined;
    embeddingModel: string;
    embeddingDimensions: number;
    answerModel: string;
    timeoutMs: number;
    maxRetries: number;
    /** Embedding tokens and requests per minute Gleaner allows itself (delays instead of 429s). */
    tokensPerMinute: number;
    requestsPerMinute: number;
    /** Embedding requests one embedMany call runs at once. */
    embedConcurrency: number;
    /** Batch API: first poll interval (doubling up to the max) and how long uploads gather. */
    batchPollMs: number;
    batchPollMaxMs: number;
    batchWindowMs: number;
  };
  localEmbeddingDimensions: number;
  apiKeys: string[];
  readApiKeys: string[];
  maxUploadBytes: number;
  allowUnauthenticated: boolean;
  ingestConcurrency: number;
  pdfTimeoutMs: number;
  /** Per-key token bucket: refill rate (0 turns limiting off) and bucket size. */
  rateLimit: { requestsPerSecond: number; burst: number };
  /** Origins allowed to call the API from a browser; empty turns CORS off. */
  corsOrigins: string[];
  /** How long a graceful shutdown waits for in-flight requests before closing connections. */
  shutdownTimeoutMs: number;
  /** PostgreSQL backend (scale-out); absent: the embedded SQLite backend in dataDir. */
  database?: { url: string; poolSize: number; jobLeaseSeconds: number } | null;
  /**
   * Vector search scans a collection exactly while its chunks × dimensions is at most this
   * (20k chunks of 256 dimensions by default, a few ms a query; BENCHMARKS.md); 0: always HNSW.
   */
  exactSearchBudget: number;
  logLevel: Environment["GLEANER_LOG_LEVEL"];
}

/** A configuration error that names the variables at fault. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment once; a bad value throws a ConfigError naming the variable. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const env = parsed.data;
  const config: Config = {
    host: env.HOST,
    port: env.PORT,
    dataDir: env.GLEANER_DATA_DIR,
    openai: {
      apiKey: env.OPENAI_API_KEY,
      baseURL: env.OPENAI_BASE_URL,
      embeddingModel: env.GLEANER_EMBEDDING_MODEL,
      embeddingDimensions: env.GLEANER_EMBEDDING_DIMENSIONS,
      answerModel: env.GLEANER_ANSWER_MODEL,
      timeoutMs: env.GLEANER_OPENAI_TIMEOUT_MS,
      maxRetries: env.GLEANER_OPENAI_MAX_RETRIES,
      tokensPerMinute: env.GLEANER_OPENAI_TPM,
      requestsPerMinute: env.GLEANER_OPENAI_RPM,
      embedConcurrency: env.GLEANER_OPENAI_EMBED_CONCURRENCY,
      batchPollMs: env.GLEANER_BATCH_POLL_MS,
      batchPollMaxMs: env.GLEANER_BATCH_POLL_MAX_MS,
      batchWindowMs: env.GLEANER_BATCH_WINDOW_MS,
    },
    localEmbeddingDimensions: env.GLEANER_LOCAL_EMBEDDING_DIMENSIONS,
    apiKeys: env.GLEANER_API_KEYS,
    readApiKeys: env.GLEANER_READ_API_KEYS,
    maxUploadBytes: env.GLEANER_MAX_UPLOAD_BYTES,
    allowUnauthenticated: env.GLEANER_ALLOW_UNAUTHENTICATED,
    ingestConcurrency: env.GLEANER_INGEST_CONCURRENCY,
    pdfTimeoutMs: env.GLEANER_PDF_TIMEOUT_MS,
    rateLimit: {
      requestsPerSecond: env.GLEANER_RATE_LIMIT_RPS,
      burst: env.GLEANER_RATE_LIMIT_BURST ?? Math.max(1, Math.ceil(env.GLEANER_RATE_LIMIT_RPS * 2)),
    },
    corsOrigins: env.GLEANER_CORS_ORIGINS,
    shutdownTimeoutMs: env.GLEANER_SHUTDOWN_TIMEOUT_MS,
    database: env.GLEANER_DATABASE_URL
      ? {
          url: env.GLEANER_DATABASE_URL,
          poolSize: env.GLEANER_DATABASE_POOL_SIZE,
          jobLeaseSeconds: env.GLEANER_JOB_LEASE_SECONDS,
        }
      : null,
    exactSearchBudget: env.GLEANER_EXACT_SEARCH_BUDGET,
    logLevel: env.GLEANER_LOG_LEVEL,
  };
  assertSafeListening(config);
  return config;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

function assertSafeListening(config: Config): void {
  const hasKeys = config.apiKeys.length > 0 || config.readApiKeys.length > 0;
  if (!hasKeys && !LOOPBACK.test(config.host) && !config.allowUnauthenticated) {
    throw new ConfigError(
      `Invalid configuration:\n  HOST: ${config.host} is not a loopback address and no API keys are set. ` +
        "Set GLEANER_API_KEYS (and optionally GLEANER_READ_API_KEYS), or set " +
        "GLEANER_ALLOW_UNAUTHENTICATED=true to serve without authentication.",
    );
  }
}
