// Everything decided about a request before it leaves: the key's model allow-list, that a budgeted key
// only uses priced models, and the reservation of its worst case against tokens per minute, requests in
// flight and the budget.
import { ApiError } from "../errors.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import { estimatePromptTokens } from "../usage/estimate.ts";
import type { Prices } from "../usage/pricing.ts";
import { modelAllowed } from "./allow-list.ts";
import { answersOf, promptBound, requestedOutputCap, worstCostNano } from "./bound.ts";
import type { CounterStore, Estimate, KeySnapshot, Refusal, Ticket } from "./counters.ts";
import { formatUsd } from "./money.ts";

export interface AdmissionOptions {
  counters: CounterStore;
  prices: Prices;
  /** Output reserved (and sent as the cap) when a request sets none and its model's maximum is unknown. */
  defaultMaxOutputTokens: number;
  /** A model's context window when the price list names none: bounds input the gateway cannot see. */
  defaultMaxInputTokens?: number;
  clock?: () => number;
}

export interface AdmissionRequest {
  /** The model as the customer named it, and as it reaches the upstream (prefix resolved). */
  model: string;
  upstreamModel: string;
  provider: string;
  /** Models a fallback may send the request to: the bound holds whichever answers. */
  fallbackModels?: string[];
  body: Record<string, unknown>;
  /** The request body as sent: its size bounds its prompt tokens at no cost (see promptBound). */
  text: string;
  /** What the request can generate at most, when the API says (embeddings: 0); else from max_tokens. */
  outputTokens?: number;
  /** Prompt tokens the upstream adds from state it stores (a previous response's conversation). */
  hiddenPromptTokens?: number;
  /** The request references input the gateway cannot measure (a stored prompt): the context window bounds it. */
  opaqueInput?: boolean;
  /** Counts the prompt's tokens with the tokenizer (default: chat messages). */
  countTokens?: () => Promise<number>;
  /** Web searches the request may make (capped on the wire): each is priced and may read a context window. */
  webSearches?: number;
}

/** An admitted request's hold on the counters, and the worst case it was admitted with. */
export interface AdmissionTicket extends Ticket {
  /** For a key with a budget or a token limit: what the request can cost at most (see chargeAtBound). */
  bound: Estimate | null;
  /**
   * The output cap the gateway must send (it is what was reserved): the request set none, or asked for
   * more than the key's max_output_tokens.
   */
  outputCap: number | null;
}

const NOTHING: Estimate = { tokens: 0, costNanoUsd: 0 };

export function createAdmission({ counters, prices, defaultMaxOutputTokens, defaultMaxInputTokens = 1_000_000, clock = Date.now }: AdmissionOptions) {
  /** The response headers of a key's limits (tokens, budget), for every authenticated response. */
  function limitHeaders(key: VerifiedKey, headers: Record<string, unknown>): void {
    const { tpmLimit, budgetNanoUsd } = key.limits;
    if (tpmLimit === null && budgetNanoUsd === null) return;
    Object.assign(headers, snapshotHeaders(counters.snapshot(key.limits, clock())));
  }

  /**
   * Admits the request or throws its OpenAI-shaped refusal. The returned ticket must be settled (by the
   * recorder, when the row commits) or released.
   */
  async function admit(key: VerifiedKey, req: AdmissionRequest, headers: Record<string, unknown>): Promise<AdmissionTicket> {
    if (key.allowedModels && !modelAllowed(key.allowedModels, req.upstreamModel) && !modelAllowed(key.allowedModels, `${req.provider}/${req.upstreamModel}`)) {
      throw new ApiError(403, `This API key may not use the model '${req.model}'.`, "invalid_request_error", "model_not_allowed", "model");
    }
    const { tpmLimit, budgetNanoUsd, maxParallel } = key.limits;
    const requested = requestedOutputCap(req.body);
    // The key's output cap lowers a larger ask, and is sent when the request sets none.
    const keyCap = key.maxOutputTokens !== null && req.outputTokens === undefined && (requested === undefined || requested > key.maxOutputTokens) ? key.maxOutputTokens : null;
    if (tpmLimit === null && budgetNanoUsd === null && maxParallel === null) {
      // Always admitted; the call still drops counters a removed limit left behind.
      const free = await counters.admit(key.limits, NOTHING, clock());
      if (free.ok) return { settle: free.ticket.settle, release: free.ticket.release, remoteId: free.ticket.remoteId, bound: null, outputCap: keyCap };
    }
    const now = clock();
    const price = prices.find([req.upstreamModel, req.model], now, req.provider);
    if (budgetNanoUsd !== null && !price) {
      throw new ApiError(403, `The model '${req.model}' has no known price, and this API key has a budget: it could never be charged.`, "invalid_request_error", "model_not_priced", "model");
    }
    const perAnswer = req.outputTokens ?? keyCap ?? requested ?? price?.maxOutputTokens ?? defaultMaxOutputTokens;
    const output = perAnswer * answersOf(req.body);
    const searches = req.webSearches ?? 0;
    const window = price?.maxInputTokens ?? defaultMaxInputTokens;
    // After each search the provider samples the model again, reading up to its whole context window.
    const prompt = promptBound(req.text, window, req.hiddenPromptTokens ?? 0, req.opaqueInput) + searches * window;
    const priced = [price, ...(req.fallbackModels ?? []).map((m) => prices.find([m], now))].filter((p) => p !== undefined);
    if (searches > 0 && budgetNanoUsd !== null && priced.some((p) => p.webSearchPico === undefined)) {
      throw new ApiError(403, `The model '${req.model}' has no known price per web search, and this API key has a budget: the search could never be charged.`, "invalid_request_error", "tool_not_priced", "tools");
    }
    const bound: Estimate = { tokens: prompt + output, costNanoUsd: worstCostNano(priced, prompt, output, searches) };
    let result = await counters.admit(key.limits, bound, clock());
    // The byte bound overstates tokens about four times. Before refusing on tokens per minute, count
    // them with the tokenizer (plus what it cannot see: images, files, stored input); the budget keeps
    // the bound (it must never be overshot).
    if (!result.ok && (result.reason === "tpm" || result.reason === "tpm_never_fits")) {
      const unseen = prompt - Buffer.byteLength(req.text);
      const counted = req.countTokens ? await req.countTokens() : await estimatePromptTokens(req.body);
      result = await counters.admit(key.limits, { tokens: counted + unseen + output, costNanoUsd: bound.costNanoUsd }, clock());
    }
    if (tpmLimit !== null || budgetNanoUsd !== null) limitHeaders(key, headers);
    if (!result.ok) throw refusal(result, key, counters.snapshot(key.limits, clock()), { costNanoUsd: bound.costNanoUsd, output });
    const enforced = tpmLimit !== null || budgetNanoUsd !== null;
    return {
      settle: result.ticket.settle,
      release: result.ticket.release,
      remoteId: result.ticket.remoteId,
      bound: enforced ? bound : null,
      outputCap: keyCap ?? (enforced && req.outputTokens === undefined && requested === undefined ? perAnswer : null),
    };
  }

  /** What GET /v1/key shows a customer about their own key. */
  async function describe(key: VerifiedKey): Promise<KeyView> {
    await counters.ready(key.limits, clock());
    const s = counters.snapshot(key.limits, clock());
    const b = s.budget;
    return {
      id: key.id,
      name: key.name,
      rate_limit_per_minute: key.rateLimitPerMinute,
      tpm_limit: key.limits.tpmLimit,
      tokens_remaining_this_minute: s.tokens ? Math.max(0, s.tokens.limit - s.tokens.used - s.tokens.reserved) : null,
      max_parallel: key.limits.maxParallel,
      in_flight: s.inFlight,
      budget_usd: b ? formatUsd(b.limitNano) : null,
      budget_period: key.limits.budgetPeriod,
      spent_usd: b ? formatUsd(b.spentNano) : null,
      reserved_usd: b ? formatUsd(b.reservedNano) : null,
      remaining_usd: b ? formatUsd(Math.max(0, b.limitNano - b.spentNano)) : null,
      period_start: b ? new Date(b.periodStart).toISOString() : null,
      budget_resets_at: b && b.periodEnd !== null ? new Date(b.periodEnd).toISOString() : null,
      expires_at: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
      allowed_models: key.allowedModels,
      max_output_tokens: key.maxOutputTokens,
    };
  }

  return { admit, limitHeaders, describe };
}

export interface KeyView {
  id: string;
  name: string;
  rate_limit_per_minute: number;
  tpm_limit: number | null;
  tokens_remaining_this_minute: number | null;
  max_parallel: number | null;
  in_flight: number;
  budget_usd: string | null;
  budget_period: string;
  spent_usd: string | null;
  reserved_usd: string | null;
  remaining_usd: string | null;
  period_start: string | null;
  budget_resets_at: string | null;
  expires_at: string | null;
  allowed_models: string[] | null;
  max_output_tokens: number | null;
}

export type Admission = ReturnType<typeof createAdmission>;

// Header strings that only change with a key's settings or period, computed once (the hot path sends them on every response).
const formatted = new Map<string, string>();
function memo(key: string, make: () => string): string {
  let v = formatted.get(key);
  if (v === undefined) {
    if (formatted.size > 10_000) formatted.clear();
    formatted.set(key, (v = make()));
  }
  return v;
}

function snapshotHeaders(s: KeySnapshot): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.tokens) {
    h["x-ratelimit-limit-tokens"] = memo(`t${s.tokens.limit}`, () => String(s.tokens!.limit));
    h["x-ratelimit-remaining-tokens"] = String(Math.max(0, s.tokens.limit - s.tokens.used - s.tokens.reserved));
    h["x-ratelimit-reset-tokens"] = `${Math.max(1, Math.ceil(s.tokens.resetMs / 1000))}s`;
  }
  if (s.budget) {
    const b = s.budget;
    h["x-budget-limit-usd"] = memo(`u${b.limitNano}`, () => formatUsd(b.limitNano));
    h["x-budget-remaining-usd"] = formatUsd(Math.max(0, b.limitNano - b.spentNano));
    if (b.periodEnd !== null) h["x-budget-reset"] = memo(`d${b.periodEnd}`, () => new Date(b.periodEnd!).toISOString());
  }
  return h;
}

/** What the refused request could have cost at most, and the output tokens that bound counts. */
interface Asked {
  costNanoUsd: number;
  output: number;
}

function refusal(r: Refusal, key: VerifiedKey, s: KeySnapshot, asked: Asked): ApiError {
  const err = refusalError(r, key, s, asked);
  err.reason = r.reason === "tpm_never_fits" ? "tpm" : r.reason;
  return err;
}

function refusalError(r: Refusal, key: VerifiedKey, s: KeySnapshot, asked: Asked): ApiError {
  switch (r.reason) {
    case "budget_exhausted": {
      const b = s.budget!;
      const when = b.periodEnd === null ? "It does not reset." : `It resets at ${new Date(b.periodEnd).toISOString()}.`;
      const left = Math.max(0, b.limitNano - b.spentNano);
      // A coding agent asks the model's whole output (Claude Code: 32,000-128,000 tokens): say what to lower.
      const why =
        left === 0
          ? `is used up ($${formatUsd(b.spentNano)} spent).`
          : `has $${formatUsd(left)} left, and this request may cost up to $${formatUsd(asked.costNanoUsd)} (its prompt and up to ${asked.output} output tokens). Ask for fewer output tokens (max_tokens; Claude Code: CLAUDE_CODE_MAX_OUTPUT_TOKENS) or ask for a larger budget.`;
      return new ApiError(
        429,
        `This API key's budget of $${formatUsd(b.limitNano)} (${b.period}) ${why} ${when}`,
        "insufficient_quota",
        "insufficient_quota",
        null,
        { "x-should-retry": "false" },
      );
    }
    case "budget_reserved":
      return new ApiError(429, "Requests in flight hold what is left of this API key's budget; retry when they finish.", "requests", "rate_limit_exceeded", null, { "retry-after": "1" });
    case "tpm_never_fits":
      return new ApiError(
        429,
        `This request alone needs more than this API key's limit of ${key.limits.tpmLimit} tokens per minute (prompt plus max_tokens): it can never fit. Lower max_tokens or the prompt.`,
        "tokens",
        "rate_limit_exceeded",
        null,
        { "x-should-retry": "false" },
      );
    case "tpm":
      return new ApiError(429, `Rate limit reached for this API key: ${key.limits.tpmLimit} tokens per minute. Retry after the window resets.`, "tokens", "rate_limit_exceeded", null, {
        "retry-after": String(Math.max(1, Math.ceil(r.resetMs / 1000))),
      });
    case "parallel":
      return new ApiError(429, `This API key may have ${key.limits.maxParallel} requests in flight at once; retry when one finishes.`, "requests", "rate_limit_exceeded", null, { "retry-after": "1" });
  }
}
