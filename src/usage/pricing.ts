import { readFileSync } from "node:fs";
import { UserError } from "../errors.ts";
import type { PriceEntry } from "../providers/config-file.ts";
import { BUILTIN_PRICES } from "./builtin-prices.ts";

/** Prices in integer pico-dollars per token, so every cost computation is exact integer arithmetic. */
export interface ModelPrice {
  inputPico: number;
  outputPico: number;
  cachedInputPico: number;
  /** Prompt tokens written to the provider's cache (the input price when the list names none). */
  cacheWritePico: number;
  /** The model's largest answer, when the price list says (LiteLLM's max_output_tokens). */
  maxOutputTokens?: number;
  /** The model's context window, when the price list says (LiteLLM's max_input_tokens). */
  maxInputTokens?: number;
}

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  /** Part of promptTokens written to the provider's prompt cache. */
  cacheWriteTokens?: number | null;
}

export type PriceTable = Map<string, ModelPrice>;

const PICO = 1e12;

function fromUsdPerToken(input: number, output: number, cached: number | undefined, cacheWrite?: number): ModelPrice {
  const toPico = (usd: number) => Math.round(usd * PICO);
  return { inputPico: toPico(input), outputPico: toPico(output), cachedInputPico: toPico(cached ?? input), cacheWritePico: toPico(cacheWrite ?? input) };
}

/** Built-in table, then the LiteLLM-format file, then the config file's [models]: later wins, model by model. */
export function buildPriceTable(configModels: Record<string, PriceEntry> = {}, pricingFile?: string): PriceTable {
  const table: PriceTable = new Map();
  for (const [name, [inM, outM, cachedM, writeM]] of Object.entries(BUILTIN_PRICES)) {
    table.set(name, fromUsdPerToken(inM / 1e6, outM / 1e6, cachedM === undefined ? undefined : cachedM / 1e6, writeM === undefined ? undefined : writeM / 1e6));
  }
  if (pricingFile) {
    for (const [name, p] of Object.entries(readLiteLLMPrices(pricingFile))) table.set(name, p);
  }
  for (const [name, p] of Object.entries(configModels)) {
    const price = fromUsdPerToken(p.input_cost_per_token, p.output_cost_per_token, p.cache_read_input_token_cost, p.cache_creation_input_token_cost);
    if (p.max_output_tokens !== undefined) price.maxOutputTokens = p.max_output_tokens;
    if (p.max_input_tokens !== undefined) price.maxInputTokens = p.max_input_tokens;
    table.set(name, price);
  }
  return table;
}

/** Reads LiteLLM's model_prices_and_context_window.json; entries without token prices are skipped. */
export function readLiteLLMPrices(path: string): Record<string, ModelPrice> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserError(`pricing_file ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new UserError(`pricing_file ${path}: expected a JSON object of models`);
  const out: Record<string, ModelPrice> = {};
  for (const [name, raw] of Object.entries(data as Record<string, unknown>)) {
    const e = raw as Record<string, unknown> | null;
    if (name === "sample_spec" || !e || typeof e.input_cost_per_token !== "number" || typeof e.output_cost_per_token !== "number") continue;
    const optional = (v: unknown) => (typeof v === "number" ? v : undefined);
    out[name] = fromUsdPerToken(e.input_cost_per_token, e.output_cost_per_token, optional(e.cache_read_input_token_cost), optional(e.cache_creation_input_token_cost));
    if (typeof e.max_output_tokens === "number" && e.max_output_tokens > 0) out[name]!.maxOutputTokens = Math.floor(e.max_output_tokens);
    if (typeof e.max_input_tokens === "number" && e.max_input_tokens > 0) out[name]!.maxInputTokens = Math.floor(e.max_input_tokens);
  }
  return out;
}

/** Finds a price for the model as answered, as requested, or without a date suffix ("gpt-4o-2024-08-06" -> "gpt-4o"). */
export function findPrice(table: PriceTable, ...models: (string | null | undefined)[]): ModelPrice | undefined {
  for (const m of models) {
    if (!m) continue;
    const hit = table.get(m) ?? table.get(m.replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, ""));
    if (hit) return hit;
  }
  return undefined;
}

/** Cost in integer nano-dollars (rounded half up from exact pico-dollars); null when the price is unknown. */
export function costNanoUsd(price: ModelPrice | undefined, t: TokenCounts): number | null {
  if (!price) return null;
  const cached = Math.min(t.cachedTokens ?? 0, t.promptTokens);
  const written = Math.min(t.cacheWriteTokens ?? 0, t.promptTokens - cached);
  const pico =
    (t.promptTokens - cached - written) * price.inputPico + cached * price.cachedInputPico + written * price.cacheWritePico + t.completionTokens * price.outputPico;
  return Math.floor((pico + 500) / 1000);
}
