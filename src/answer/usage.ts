import type { EmbeddingConfig } from "../embed/embedding-model.ts";
import { embeddingCostUsd, responseCostUsd } from "../pricing.ts";

/** Tokens one answer spent, and what they cost (null when a model has no known price). */
export interface AnswerUsage {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  embeddingTokens: number;
  costUsd: number | null;
}

/** Token counts of one Responses call (reasoning tokens are included in `outputTokens`). */
export interface ModelTokens {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

export const NO_MODEL_TOKENS: ModelTokens = { inputTokens: 0, outputTokens: 0, reasoningTokens: 0 };

/** Usage of an answer: the model call (if any) plus the query embedding, priced from one table. */
export function answerUsage(params: {
  model: string | null;
  tokens: ModelTokens;
  embedding: EmbeddingConfig;
  embeddingTokens: number;
}): AnswerUsage {
  const { model, tokens, embedding, embeddingTokens } = params;
  const embeddingCost =
    embedding.provider === "local" || embeddingTokens === 0
      ? 0
      : embeddingCostUsd(embedding.model, embeddingTokens);
  const modelCost = model === null ? 0 : responseCostUsd(model, tokens);
  const costUsd =
    embeddingCost === null || modelCost === null
      ? null
      : Math.round((embeddingCost + modelCost) * 1e9) / 1e9;
  return { ...tokens, embeddingTokens, costUsd };
}
