// Whose limits a request must fit — its key's, its customer's, its customer's prepaid balance — and the
// refusal that names which limit and whose, in OpenAI's codes (insufficient_quota + x-should-retry:
// false for what waiting cannot fix; rate_limit_exceeded + Retry-After for what it can).
import { ApiError } from "../errors.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import type { KeyLimits, KeySnapshot, Refusal } from "./counters.ts";
import { formatUsd } from "./money.ts";

/** One set of limits a request must fit, and how a refusal names it. */
export interface Subject {
  limits: KeyLimits;
  /** "this API key" or "this customer": whose limit a refusal names. */
  whose: string;
  /** The budget is a prepaid balance (its limit is the credits, over all time). */
  prepaid: boolean;
}

/** The key's limits, then its customer's, then its customer's balance. */
export function subjectsOf(key: VerifiedKey): Subject[] {
  const out: Subject[] = [{ limits: key.limits, whose: "this API key", prepaid: false }];
  const c = key.customer;
  if (c?.limits) out.push({ limits: c.limits, whose: "this customer", prepaid: false });
  if (c?.balance) out.push({ limits: c.balance, whose: "this customer", prepaid: true });
  return out;
}

/** What the refused request could have cost at most, and the output tokens that bound counts. */
export interface Asked {
  costNanoUsd: number;
  output: number;
}

export function refusal(r: Refusal, subject: Subject, s: KeySnapshot, asked: Asked): ApiError {
  const err = refusalError(r, subject, s, asked);
  const base = r.reason === "tpm_never_fits" ? "tpm" : r.reason;
  // Metrics' refusal reasons: budget_exhausted, customer_budget_exhausted, balance_exhausted, ...
  err.reason = subject.prepaid ? base.replace("budget", "balance") : subject.whose === "this API key" ? base : `customer_${base}`;
  return err;
}

const LOWER = "Ask for fewer output tokens (max_tokens; Claude Code: CLAUDE_CODE_MAX_OUTPUT_TOKENS)";

function refusalError(r: Refusal, subject: Subject, s: KeySnapshot, asked: Asked): ApiError {
  const { whose, limits } = subject;
  const Whose = whose[0]!.toUpperCase() + whose.slice(1);
  switch (r.reason) {
    case "budget_exhausted": {
      const b = s.budget!;
      const left = Math.max(0, b.limitNano - b.spentNano);
      const may = `this request may cost up to $${formatUsd(asked.costNanoUsd)} (its prompt and up to ${asked.output} output tokens)`;
      if (subject.prepaid) {
        const why = left === 0 ? "is used up" : `is $${formatUsd(left)}, and ${may}. ${LOWER} or add credits`;
        return quota(`${Whose} has a prepaid balance that ${why}: balance $${formatUsd(b.limitNano - b.spentNano)} ($${formatUsd(b.limitNano)} of credits, $${formatUsd(b.spentNano)} spent).`);
      }
      const when = b.periodEnd === null ? "It does not reset." : `It resets at ${new Date(b.periodEnd).toISOString()}.`;
      // A coding agent asks the model's whole output (Claude Code: 32,000-128,000 tokens): say what to lower.
      const why = left === 0 ? `is used up ($${formatUsd(b.spentNano)} spent).` : `has $${formatUsd(left)} left, and ${may}. ${LOWER} or ask for a larger budget.`;
      return quota(`${possessive(Whose)} budget of $${formatUsd(b.limitNano)} (${b.period}) ${why} ${when}`);
    }
    case "budget_reserved":
      return new ApiError(429, `Requests in flight hold what is left of ${possessive(whose)} ${subject.prepaid ? "prepaid balance" : "budget"}; retry when they finish.`, "requests", "rate_limit_exceeded", null, { "retry-after": "1" });
    case "tpm_never_fits":
      return new ApiError(
        429,
        `This request alone needs more than ${possessive(whose)} limit of ${limits.tpmLimit} tokens per minute (prompt plus max_tokens): it can never fit. Lower max_tokens or the prompt.`,
        "tokens",
        "rate_limit_exceeded",
        null,
        { "x-should-retry": "false" },
      );
    case "tpm":
      return new ApiError(429, `Rate limit reached for ${whose}: ${limits.tpmLimit} tokens per minute. Retry after the window resets.`, "tokens", "rate_limit_exceeded", null, {
        "retry-after": String(Math.max(1, Math.ceil(r.resetMs / 1000))),
      });
    case "parallel":
      return new ApiError(429, `${Whose} may have ${limits.maxParallel} requests in flight at once; retry when one finishes.`, "requests", "rate_limit_exceeded", null, { "retry-after": "1" });
  }
}

const possessive = (whose: string) => `${whose}'s`;

function quota(message: string): ApiError {
  return new ApiError(429, message, "insufficient_quota", "insufficient_quota", null, { "x-should-retry": "false" });
}
