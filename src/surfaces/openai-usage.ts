// Usage as OpenAI's chat completions report it, and the text of an answer (for estimates).
import type { ReportedUsage } from "../usage/reported.ts";

/** Reads `usage` from a completion or chunk; anything malformed counts as absent. */
export function readUsage(value: unknown): ReportedUsage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const u = value as Record<string, unknown>;
  if (u.prompt_tokens === undefined && u.completion_tokens === undefined) return undefined;
  if (!isCount(u.prompt_tokens) || !isCount(u.completion_tokens)) {
    const sent = JSON.stringify({ prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }).slice(0, 200);
    return { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null, suspect: sent };
  }
  const details = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  const cached = details?.cached_tokens;
  // Chat translated from Anthropic's API says how much of the prompt was written to its cache.
  const written = details?.cache_creation_tokens;
  const reasoning = (u.completion_tokens_details as Record<string, unknown> | null | undefined)?.reasoning_tokens;
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    cachedTokens: isCount(cached) ? cached : null,
    reasoningTokens: isCount(reasoning) ? reasoning : null,
    ...(isCount(written) && written > 0 ? { cacheWriteTokens: written } : {}),
  };
}

/** A token count as the gateway will store it; negative, fractional or unsafe numbers are not counts. */
function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** The text a completion or chunk carries, for estimating tokens when no usage is reported. */
export function completionText(payload: Record<string, unknown>): string {
  const choices = Array.isArray(payload.choices) ? payload.choices : [];
  let text = "";
  for (const c of choices) {
    if (!c || typeof c !== "object") continue;
    const part = ((c as Record<string, unknown>).delta ?? (c as Record<string, unknown>).message) as Record<string, unknown> | undefined;
    if (!part || typeof part !== "object") continue;
    if (typeof part.content === "string") text += part.content;
    if (Array.isArray(part.tool_calls)) {
      for (const tc of part.tool_calls) {
        const args = (tc as { function?: { arguments?: unknown } } | null)?.function?.arguments;
        if (typeof args === "string") text += args;
      }
    }
  }
  return text;
}
