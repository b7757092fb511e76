import { estimateCompletionTokens } from "../../usage/estimate.ts";
import type { ReportedUsage } from "../../usage/reported.ts";
import { invalidRequest as invalid } from "../../errors.ts";
import { parseJsonObject, requireModel, type ProxyDeps } from "../request.ts";
import { createSurfaceProxy, type Surface } from "../pipeline.ts";

/** Validates what the gateway relies on (model, input); every other field is the upstream's business. */
export function parseEmbeddingsRequest(text: string): { body: Record<string, unknown>; model: string } {
  const b = parseJsonObject(text);
  const model = requireModel(b.model, null);
  const input = b.input;
  const ok = typeof input === "string" || (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "string" || typeof x === "number" || Array.isArray(x)));
  if (input === undefined) throw invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter");
  if (!ok) throw invalid("Invalid 'input': expected a string, an array of strings, or token arrays.", "input", "invalid_type");
  return { body: b, model };
}

/** Embeddings report `prompt_tokens` only; anything malformed counts as absent, absurd as suspect. */
function readEmbeddingUsage(value: unknown): ReportedUsage | undefined {
  const u = value as { prompt_tokens?: unknown } | null;
  if (!u || typeof u !== "object" || u.prompt_tokens === undefined) return undefined;
  const n = u.prompt_tokens;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) return { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null, suspect: JSON.stringify(n) };
  return { promptTokens: n, completionTokens: 0, cachedTokens: null, reasoningTokens: null };
}

/** Token count of an embeddings input: the tokenizer for text, the length of token arrays. */
async function estimateInputTokens(input: unknown): Promise<number> {
  if (typeof input === "string") return estimateCompletionTokens(input);
  let n = 0;
  for (const item of Array.isArray(input) ? input : []) n += typeof item === "string" ? await estimateCompletionTokens(item) : Array.isArray(item) ? item.length : 1;
  return n;
}

/**
 * POST /v1/embeddings: admitted on its input alone (nothing is generated); the row records the prompt
 * tokens at the model's input price.
 */
export const EMBEDDINGS: Surface = {
  endpoint: "embeddings",
  errorShape: "openai",
  parse: (text) => ({ ...parseEmbeddingsRequest(text), stream: false }),
  countPromptTokens: (body) => estimateInputTokens(body.input),
  outputTokens: 0,
  summarize: (list) => ({ usage: readEmbeddingUsage(list.usage), modelAnswered: typeof list.model === "string" ? list.model : null, text: "" }),
};

export function createEmbeddingsProxy(opts: ProxyDeps) {
  return createSurfaceProxy(EMBEDDINGS, opts);
}

export type EmbeddingsProxy = ReturnType<typeof createEmbeddingsProxy>;
