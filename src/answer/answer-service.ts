import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { EmbedderRegistry } from "../embed/embedder-registry.ts";
import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import { AppError } from "../errors.ts";
import type { SearchHit, SearchService } from "../search/search-service.ts";
import type { MetadataFilter, Store } from "../store/store.ts";
import {
  type Citation,
  type CitationSource,
  type DraftCitation,
  markersIn,
  verifyCitations,
} from "./citations.ts";
import { extractiveAnswer, splitSentences, supportingSentence } from "./extractive-answerer.ts";
import {
  type AnswerStatus,
  type LlmAnswerRequest,
  type LlmDraft,
  openStreamingAnswer,
  type ReasoningEffortOption,
  structuredAnswer,
  type VerbosityOption,
} from "./responses-answerer.ts";
import { type AnswerUsage, answerUsage, type ModelTokens, NO_MODEL_TOKENS } from "./usage.ts";

export interface AnswerRequest {
  collection: string;
  question: string;
  k: number;
  filter?: MetadataFilter | undefined;
  stream: boolean;
  previousResponseId?: string | undefined;
  model?: string | undefined;
  reasoningEffort?: ReasoningEffortOption | undefined;
  verbosity?: VerbosityOption | undefined;
  /** Aborted when the client goes away; cancels the upstream request. */
  signal?: AbortSignal | undefined;
}

export interface AnswerResult {
  /** The Responses API id (pass it back as previous_response_id), or an id of our own. */
  id: string;
  answer: string;
  citations: Citation[];
  sources: SearchHit[];
  mode: "llm" | "extractive";
  model: string | null;
  usage: AnswerUsage;
  status: AnswerStatus;
  incompleteReason: string | null;
  insufficientContext: boolean;
}

/** Retrieval done (and, for a streamed LLM answer, the provider has accepted the request). */
export interface PreparedAnswer {
  sources: SearchHit[];
  /** Generates (relaying text deltas when given a callback), then verifies citations. */
  run(onDelta?: (text: string) => void | Promise<void>): Promise<AnswerResult>;
}

/** Grounded answers over one collection: retrieve, generate (LLM or extractive), verify. */
export class AnswerService {
  constructor(
    private readonly deps: {
      config: Pick<Config, "openai">;
      store: Store;
      search: SearchService;
      embedders: EmbedderRegistry;
      logger: Logger;
    },
  ) {}

  /** "llm" when an OpenAI key is configured, else the embedded extractive answerer. */
  get mode(): "llm" | "extractive" {
    return this.deps.config.openai.apiKey ? "llm" : "extractive";
  }

  /** A complete answer (no streaming). */
  async answer(request: Omit<AnswerRequest, "stream">): Promise<AnswerResult> {
    const prepared = await this.prepare({ ...request, stream: false });
    return prepared.run();
  }

  /** Retrieves the sources; errors up to here (unknown collection, rejected request) throw. */
  async prepare(request: AnswerRequest): Promise<PreparedAnswer> {
    const collection = await this.deps.store.getCollection(request.collection);
    if (!collection) {
      throw new AppError("not_found", `Collection "${request.collection}" was not found.`, {
        param: "name",
      });
    }
    const retrieved = await this.deps.search.search({
      collection: request.collection,
      query: request.question,
      k: request.k,
      mode: "hybrid",
      filter: request.filter,
    });
    return this.prepareFromSources(request, retrieved.hits, {
      embedding: collection.embedding,
      embeddingTokens: retrieved.embeddingTokens,
    });
  }

  /**
   * Generation over sources the caller retrieved (e.g. from several collections): the same
   * answer, citations and usage as `prepare`, whose retrieval cost is given as `retrieval`.
   */
  async prepareFromSources(
    request: Omit<AnswerRequest, "collection" | "k" | "filter">,
    sources: SearchHit[],
    retrieval: { embedding: EmbeddingConfig; embeddingTokens: number },
  ): Promise<PreparedAnswer> {
    const usageOf = (model: string | null, tokens = NO_MODEL_TOKENS): AnswerUsage =>
      answerUsage({
        model,
        tokens,
        embedding: retrieval.embedding,
        embeddingTokens: retrieval.embeddingTokens,
      });
    const finish = (draft: Draft, citations: DraftCitation[]): AnswerResult => {
      const verified = verifyCitations(draft.answer, citations, sources.map(citationSource));
      if (verified.dropped > 0) {
        this.deps.logger.info(
          { dropped: verified.dropped, mode: draft.mode },
          "answer citations dropped after verification",
        );
      }
      return {
        id: draft.id,
        answer: verified.answer,
        citations: verified.citations,
        sources,
        mode: draft.mode,
        model: draft.model,
        usage: usageOf(draft.model, draft.tokens),
        status: draft.status,
        incompleteReason: draft.incompleteReason,
        insufficientContext: draft.insufficientContext || verified.citations.length === 0,
      };
    };

    if (this.mode === "extractive") {
      return {
        sources,
        async run(onDelta) {
          const draft = extractiveAnswer(
            request.question,
            sources.map(({ text, title }) => ({ text, title })),
          );
          const result = finish(
            {
              id: `ans_${randomUUID().replaceAll("-", "")}`,
              answer: draft.answer,
              mode: "extractive",
              model: null,
              tokens: NO_MODEL_TOKENS,
              status: "completed",
              incompleteReason: null,
              insufficientContext: draft.insufficientContext,
            },
            draft.citations,
          );
          if (onDelta) for (const piece of sentencePieces(result.answer)) await onDelta(piece);
          return result;
        },
      };
    }

    const llmRequest: LlmAnswerRequest = {
      client: this.deps.embedders.openaiClient(),
      model: request.model ?? this.deps.config.openai.answerModel,
      question: request.question,
      sources,
      previousResponseId: request.previousResponseId,
      reasoningEffort: request.reasoningEffort,
      verbosity: request.verbosity,
      signal: request.signal,
      idleTimeoutMs: this.deps.config.openai.timeoutMs,
    };
    const fromLlm = (draft: LlmDraft): Draft => ({
      id: draft.responseId,
      answer: draft.answer,
      mode: "llm",
      model: draft.model,
      tokens: draft.tokens,
      status: draft.status,
      incompleteReason: draft.incompleteReason,
      insufficientContext: draft.insufficientContext,
    });
    if (!request.stream) {
      return {
        sources,
        async run() {
          const draft = await structuredAnswer(llmRequest);
          return finish(fromLlm(draft), draft.citations);
        },
      };
    }
    const stream = await openStreamingAnswer(llmRequest);
    return {
      sources,
      async run(onDelta) {
        const draft = await stream.relay(onDelta ?? (() => {}));
        const texts = sources.map((source) => source.text);
        return finish(fromLlm(draft), resolveMarkers(draft.answer, texts));
      },
    };
  }
}

interface Draft {
  id: string;
  answer: string;
  mode: "llm" | "extractive";
  model: string | null;
  tokens: ModelTokens;
  status: AnswerStatus;
  incompleteReason: string | null;
  insufficientContext: boolean;
}

function citationSource(hit: SearchHit): CitationSource {
  return {
    chunkId: hit.chunkId,
    documentId: hit.documentId,
    title: hit.title,
    pageStart: hit.pageStart,
    pageEnd: hit.pageEnd,
    text: hit.text,
    charStart: hit.charStart,
  };
}

/**
 * Quotes for a streamed answer's markers: for each source number, the sentence of that source
 * that best supports the first claim marked with it. A marker right after a sentence's end
 * ("claim. [1]") belongs to that sentence.
 */
export function resolveMarkers(answer: string, sourceTexts: readonly string[]): DraftCitation[] {
  const claims: { text: string; markers: number[] }[] = [];
  for (const range of splitSentences(answer)) {
    const sentence = answer.slice(range.start, range.end);
    const leading = /^(?:\s*\[\d{1,4}(?:\s*[,;]\s*\d{1,4})*\])+/.exec(sentence)?.[0] ?? "";
    const previous = claims.at(-1);
    if (leading && previous) previous.markers.push(...markersIn(leading));
    const rest = previous && leading ? sentence.slice(leading.length) : sentence;
    claims.push({ text: rest, markers: markersIn(rest) });
  }
  const drafts: DraftCitation[] = [];
  const done = new Set<number>();
  for (const claim of claims) {
    const text = claim.text.replace(/\[[\d,;\s]+\]/g, " ");
    for (const n of claim.markers) {
      const source = sourceTexts[n - 1];
      if (done.has(n) || source === undefined) continue;
      const quote = supportingSentence(text, source);
      if (quote === null) continue;
      done.add(n);
      drafts.push({ n, quote });
    }
  }
  return drafts;
}

/** An extractive answer as a few deltas (one per sentence), so streaming looks the same. */
function sentencePieces(answer: string): string[] {
  return answer.split(/(?<=\]\s)/);
}
