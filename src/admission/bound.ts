// The worst case of one request — what the upstream can bill for it at most. Admission reserves it, the
// gateway enforces it (it sends the output cap it reserved), and usage reported beyond it is charged at
// the bound (see chargeAtBound).
import type { ModelPrice } from "../usage/price-types.ts";
import type { Estimate } from "./counters.ts";

/**
 * Tokens one image can be billed as. Not the bytes: gpt-4o-mini bills a high-detail image at up to ~48k
 * tokens whatever its size, others ~1.6k (Anthropic) to ~2.5k (gpt-4.1-mini).
 */
export const IMAGE_ALLOWANCE = 50_000;

/** Tokens a provider adds to a request with tools (Anthropic's tool-use system prompt is ~350-750). */
export const TOOLS_ALLOWANCE = 1_000;

const IMAGE = /"type"\s*:\s*"(?:image_url|input_image|image)"/g;
// Content the gateway cannot measure from the request: files and documents (by id, URL or data whose
// size in tokens is not its size in bytes). It is bounded by the model's context window.
// Matched as content-part types only, so a function tool with a "file_id" parameter is not mistaken for one.
const OPAQUE = /"type"\s*:\s*"(?:input_file|file|document|input_audio|audio)"/;

/**
 * An upper bound of the prompt's tokens: a BPE token is at least one byte of the text, and the JSON
 * around each message is longer than the chat template's tokens; each image gets IMAGE_ALLOWANCE, tools the
 * provider's own instructions for them (TOOLS_ALLOWANCE); content
 * the gateway cannot measure, and `hidden` input (a stored conversation), count as the whole context window.
 */
export function promptBound(text: string, maxInputTokens = Infinity, hidden = 0, opaque = false): number {
  if (opaque || OPAQUE.test(text)) return Math.max(maxInputTokens, Buffer.byteLength(text)) + hidden;
  let images = 0;
  for (const _ of text.matchAll(IMAGE)) images++;
  const tools = text.includes('"tools"') ? TOOLS_ALLOWANCE : 0;
  return Buffer.byteLength(text) + images * IMAGE_ALLOWANCE + tools + hidden;
}

/** The output cap the request itself sets (max_completion_tokens, max_tokens or max_output_tokens). */
export function requestedOutputCap(body: Record<string, unknown>): number | undefined {
  for (const field of ["max_completion_tokens", "max_tokens", "max_output_tokens"]) {
    const v = body[field];
    if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

/** How many answers the request asks for (chat's `n`; anything else is one, or the upstream refuses it). */
export function answersOf(body: Record<string, unknown>): number {
  const n = body.n;
  return typeof n === "number" && Number.isInteger(n) && n > 1 ? n : 1;
}

/**
 * The largest cost of `prompt` and `output` tokens under any of `prices` (the routed model and its
 * fallbacks): each prompt token at the dearest input price (cache writes cost more than plain input).
 */
export function worstCostNano(prices: ModelPrice[], prompt: number, output: number, webSearches = 0): number {
  let worst = 0;
  for (const p of prices) {
    const pico = prompt * p.worst.inputPico + output * p.worst.outputPico + p.worst.requestPico + webSearches * (p.webSearchPico ?? 0);
    worst = Math.max(worst, Math.floor((pico + 500) / 1000));
  }
  return worst;
}

export interface Charge {
  /** What is charged: the row's cost, or the bound when the row's usage exceeds it. */
  costNanoUsd: number | null;
  /** What counts against tokens per minute. */
  tokens: number;
  /** The upstream reported more than the request could use. */
  overBound: boolean;
}

/** Usage beyond the bound is charged at the bound (the row keeps the tokens as reported). */
export function chargeAtBound(tokens: number, costNanoUsd: number | null, bound: Estimate | null): Charge {
  if (!bound) return { costNanoUsd, tokens, overBound: false };
  const overTokens = tokens > bound.tokens;
  const overCost = costNanoUsd !== null && costNanoUsd > bound.costNanoUsd;
  return {
    costNanoUsd: costNanoUsd === null ? null : Math.min(costNanoUsd, bound.costNanoUsd),
    tokens: Math.min(tokens, bound.tokens),
    overBound: overTokens || overCost,
  };
}
