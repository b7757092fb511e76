// Everything decided about a request before it leaves: the key's model allow-list, that a budgeted key
// only uses priced models, and the reservation of its worst case against tokens per minute, requests in
// flight and the budget.
import { ApiError } from "../errors.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import { estimatePromptTokens } from "../usage/estimate.ts";
import type { Prices } from "../usage/pricing.ts";
import { modelAllowed } from "./allow-list.ts";
import { answersOf, promptBound, requestedOutputCap, worstCostNano } from "./bound.ts";
import { hasLimits, joined, type CounterStore, type Estimate, type KeyLimits, type KeySnapshot, type Ticket } from "./counters.ts";
import { formatUsd } from "./money.ts";
import { refusal, subjectsOf } from "./refusals.ts";

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
  /** Throws the 403 when the key's allow-list does not name the model (also for answers from the cache). */
  function checkModel(key: VerifiedKey, req: Pick<AdmissionRequest, "model" | "upstreamModel" | "provider">): void {
    if (key.allowedModels && !modelAllowed(key.allowedModels, req.upstreamModel) && !modelAllowed(key.allowedModels, `${req.provider}/${req.upstreamModel}`)) {
      throw new ApiError(403, `This API key may not use the model '${req.model}'.`, "invalid_request_error", "model_not_allowed", "model");
    }
  }

  async function admit(key: VerifiedKey, req: AdmissionRequest, headers: Record<string, unknown>): Promise<AdmissionTicket> {
    checkModel(key, req);
    const requested = requestedOutputCap(req.body);
    // The key's output cap lowers a larger ask, and is sent when the request sets none.
    const keyCap = key.maxOutputTokens !== null && req.outputTokens === undefined && (requested === undefined || requested > key.maxOutputTokens) ? key.maxOutputTokens : null;
    const subjects = subjectsOf(key);
    if (subjects.length === 1 && !hasLimits(key.limits)) {
      // Always admitted; the call still drops counters a removed limit left behind.
      const free = await counters.admit(key.limits, NOTHING, clock());
      if (free.ok) return { ...joined([free.ticket]), bound: null, outputCap: keyCap };
    }
    const now = clock();
    const price = prices.find([req.upstreamModel, req.model], now, req.provider);
    const budgeted = subjects.find((s) => s.limits.budgetNanoUsd !== null);
    if (budgeted && !price) {
      throw new ApiError(403, `The model '${req.model}' has no known price, and ${budgeted.whose} has a ${budgeted.prepaid ? "prepaid balance" : "budget"}: it could never be charged.`, "invalid_request_error", "model_not_priced", "model");
    }
    const perAnswer = req.outputTokens ?? keyCap ?? requested ?? price?.maxOutputTokens ?? defaultMaxOutputTokens;
    const output = perAnswer * answersOf(req.body);
    const searches = req.webSearches ?? 0;
    const window = price?.maxInputTokens ?? defaultMaxInputTokens;
    // After each search the provider samples the model again, reading up to its whole context window.
    const prompt = promptBound(req.text, window, req.hiddenPromptTokens ?? 0, req.opaqueInput) + searches * window;
    const priced = [price, ...(req.fallbackModels ?? []).map((m) => prices.find([m], now))].filter((p) => p !== undefined);
    if (searches > 0 && budgeted && priced.some((p) => p.webSearchPico === undefined)) {
      throw new ApiError(403, `The model '${req.model}' has no known price per web search, and ${budgeted.whose} has a budget: the search could never be charged.`, "invalid_request_error", "tool_not_priced", "tools");
    }
    const bound: Estimate = { tokens: prompt + output, costNanoUsd: worstCostNano(priced, prompt, output, searches) };
    // The key's limits first, then its customer's; a refusal gives back what the others reserved.
    const held: Ticket[] = [];
    let counted: number | undefined;
    for (const subject of subjects) {
      let result = await counters.admit(subject.limits, bound, clock());
      // The byte bound overstates tokens about four times. Before refusing on tokens per minute, count
      // them with the tokenizer (plus what it cannot see: images, files, stored input); the budget keeps
      // the bound (it must never be overshot).
      if (!result.ok && (result.reason === "tpm" || result.reason === "tpm_never_fits")) {
        const unseen = prompt - Buffer.byteLength(req.text);
        counted ??= req.countTokens ? await req.countTokens() : await estimatePromptTokens(req.body);
        result = await counters.admit(subject.limits, { tokens: counted + unseen + output, costNanoUsd: bound.costNanoUsd }, clock());
      }
      if (!result.ok) {
        for (const t of held) t.release();
        limitHeaders(key, headers);
        throw refusal(result, subject, counters.snapshot(subject.limits, clock()), { costNanoUsd: bound.costNanoUsd, output });
      }
      held.push(result.ticket);
    }
    limitHeaders(key, headers);
    const enforced = subjects.some((s) => s.limits.tpmLimit !== null || s.limits.budgetNanoUsd !== null);
    return {
      ...joined(held),
      bound: enforced ? bound : null,
      outputCap: keyCap ?? (enforced && req.outputTokens === undefined && requested === undefined ? perAnswer : null),
    };
  }

  /** What GET /v1/key shows a customer about their own key. */
  /** Where one subject's limits stand now (GET /v1/key). */
  async function limitsView(limits: KeyLimits): Promise<LimitsView> {
    await counters.ready(limits, clock());
    const s = counters.snapshot(limits, clock());
    const b = s.budget;
    return {
      tpm_limit: limits.tpmLimit,
      tokens_remaining_this_minute: s.tokens ? Math.max(0, s.tokens.limit - s.tokens.used - s.tokens.reserved) : null,
      max_parallel: limits.maxParallel,
      in_flight: s.inFlight,
      budget_usd: b ? formatUsd(b.limitNano) : null,
      budget_period: limits.budgetPeriod,
      spent_usd: b ? formatUsd(b.spentNano) : null,
      reserved_usd: b ? formatUsd(b.reservedNano) : null,
      remaining_usd: b ? formatUsd(Math.max(0, b.limitNano - b.spentNano)) : null,
      budget_resets_at: b && b.periodEnd !== null ? new Date(b.periodEnd).toISOString() : null,
    };
  }

  /** What GET /v1/key shows about the key's customer: its limits and where they stand, its balance. */
  async function customerView(key: VerifiedKey): Promise<KeyView["customer"]> {
    const c = key.customer;
    if (!c) return null;
    const none: LimitsView = { tpm_limit: null, tokens_remaining_this_minute: null, max_parallel: null, in_flight: 0, budget_usd: null, budget_period: "month", spent_usd: null, reserved_usd: null, remaining_usd: null, budget_resets_at: null };
    const balanceOf = async (l: KeyLimits) => {
      await counters.ready(l, clock());
      const b = counters.snapshot(l, clock()).budget;
      return b ? formatUsd(b.limitNano - b.spentNano) : null;
    };
    const [limits, balance] = await Promise.all([c.limits ? limitsView(c.limits) : none, c.balance ? balanceOf(c.balance) : null]);
    return {
      id: c.id,
      name: c.name,
      rate_limit_per_minute: c.rateLimitPerMinute,
      ...limits,
      prepaid: c.balance !== null,
      balance_usd: balance,
    };
  }

  async function describe(key: VerifiedKey): Promise<KeyView> {
    const [limits, customer] = await Promise.all([limitsView(key.limits), customerView(key)]);
    const b = counters.snapshot(key.limits, clock()).budget;
    return {
      id: key.id,
      name: key.name,
      rate_limit_per_minute: key.rateLimitPerMinute,
      ...limits,
      period_start: b ? new Date(b.periodStart).toISOString() : null,
      expires_at: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
      allowed_models: key.allowedModels,
      max_output_tokens: key.maxOutputTokens,
      customer,
      balance_usd: customer?.balance_usd ?? null,
    };
  }

  return { admit, checkModel, limitHeaders, describe };
}

export interface KeyView extends LimitsView {
  id: string;
  name: string;
  rate_limit_per_minute: number;
  period_start: string | null;
  expires_at: string | null;
  allowed_models: string[] | null;
  max_output_tokens: number | null;
  /** The key's customer: its limits (shared by its keys) and where they stand. */
  customer: (LimitsView & { id: string; name: string; rate_limit_per_minute: number | null; prepaid: boolean; balance_usd: string | null }) | null;
  /** A prepaid customer's balance: credits minus every cost recorded. */
  balance_usd: string | null;
}

export interface LimitsView {
  tpm_limit: number | null;
  tokens_remaining_this_minute: number | null;
  max_parallel: number | null;
  in_flight: number;
  budget_usd: string | null;
  budget_period: string;
  spent_usd: string | null;
  reserved_usd: string | null;
  remaining_usd: string | null;
  budget_resets_at: string | null;
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
