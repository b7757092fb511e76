import { readFileSync } from "node:fs";
import { UserError } from "../errors.ts";
import type { PriceEntry } from "../config-file.ts";
import { catalogModel, type CatalogHint, type CatalogModel } from "./catalog.ts";
import { flatPrice, type ModelPrice } from "./price-types.ts";
import type { ProviderType } from "../upstreams/provider-config.ts";

export { costNanoUsd, type ModelPrice, type TokenCounts } from "./price-types.ts";

/** A provider as pricing sees it: where it is and which API it speaks. */
export interface PricedProvider {
  name: string;
  type: ProviderType;
  baseUrl: string;
}

/** The catalog provider an upstream type speaks for when its base URL names none (a proxy, a test). */
// The catalog's provider for each upstream type (Bedrock's model ids are the catalog's "aws" ids, Gemini's its "google" ones).
const TYPE_PROVIDER: Record<ProviderType, string> = { openai: "openai", anthropic: "anthropic", azure: "azure", gemini: "google", bedrock: "aws" };
const CACHE_LIMIT = 4096;
const DATED = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/**
 * Model prices: the embedded catalog, then pricing_file (LiteLLM's JSON), then the config file's [models]:
 * a later source wins, model by model.
 */
export class Prices {
  private readonly hints = new Map<string, CatalogHint>();
  private readonly cache = new Map<string, CatalogModel | null>();

  constructor(
    private readonly overrides: ReadonlyMap<string, ModelPrice> = new Map(),
    providers: readonly PricedProvider[] = [],
  ) {
    for (const p of providers) this.hints.set(p.name, { baseUrl: p.baseUrl, providerId: TYPE_PROVIDER[p.type] });
  }

  /**
   * The price of the first of `models` (as answered, as routed, as requested) that has one, at `atMs` (some
   * prices change with the time of day), on `provider`'s list when the catalog knows its address. An
   * operator's price for any of the names wins over the catalog's for all of them.
   */
  find(models: readonly (string | null | undefined)[], atMs = Date.now(), provider?: string): ModelPrice | undefined {
    for (const m of models) {
      const own = m && this.override(m);
      if (own) return own;
    }
    for (const m of models) {
      const hit = m && this.catalog(m, provider)?.at(atMs);
      if (hit) return hit;
    }
    return undefined;
  }

  /** True for a model's exact name in an operator's list or the catalog (a pattern's match is not a name). */
  has(model: string): boolean {
    return this.overrides.has(model) || this.catalog(model)?.id === model;
  }

  /** The operator's own entries (pricing_file and [models]). */
  overridden(): string[] {
    return [...this.overrides.keys()];
  }

  private override(model: string): ModelPrice | undefined {
    // Most gateways have no price of their own: no date-stripping regex per request for them.
    if (this.overrides.size === 0) return undefined;
    return this.overrides.get(model) ?? this.overrides.get(model.replace(DATED, ""));
  }

  private catalog(model: string, provider?: string): CatalogModel | undefined {
    const key = `${provider ?? ""}\n${model}`;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      hit = catalogModel(model, provider ? this.hints.get(provider) : undefined) ?? null;
      this.cache.set(key, hit);
    }
    return hit ?? undefined;
  }
}

/** The operator's prices: the LiteLLM-format file, then the config file's [models] (later wins). */
export function buildPrices(configModels: Record<string, PriceEntry> = {}, pricingFile: string | undefined, providers: readonly PricedProvider[]): Prices {
  const overrides = new Map<string, ModelPrice>();
  if (pricingFile) for (const [name, p] of Object.entries(readLiteLLMPrices(pricingFile))) overrides.set(name, p);
  for (const [name, p] of Object.entries(configModels)) {
    const price = flatPrice(p.input_cost_per_token, p.output_cost_per_token, p.cache_read_input_token_cost, p.cache_creation_input_token_cost, "config [models]");
    if (p.max_output_tokens !== undefined) price.maxOutputTokens = p.max_output_tokens;
    if (p.max_input_tokens !== undefined) price.maxInputTokens = p.max_input_tokens;
    overrides.set(name, price);
  }
  return new Prices(overrides, providers);
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
    const price = flatPrice(e.input_cost_per_token, e.output_cost_per_token, optional(e.cache_read_input_token_cost), optional(e.cache_creation_input_token_cost), "pricing_file");
    if (typeof e.max_output_tokens === "number" && e.max_output_tokens > 0) price.maxOutputTokens = Math.floor(e.max_output_tokens);
    if (typeof e.max_input_tokens === "number" && e.max_input_tokens > 0) price.maxInputTokens = Math.floor(e.max_input_tokens);
    out[name] = price;
  }
  return out;
}
