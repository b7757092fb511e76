// What a price is, and what a request costs under it: exact integer arithmetic in pico-dollars per token.

/** USD per million tokens to pico-dollars per token. */
export const PICO_PER_USD_PER_MTOK = 1e6;
/** USD per token to pico-dollars per token. */
const PICO_PER_USD = 1e12;

/** Per-token prices in integer pico-dollars. */
export interface Rates {
  inputPico: number;
  outputPico: number;
  cachedInputPico: number;
  /** Prompt tokens written to the provider's cache (the input price when the list names none). */
  cacheWritePico: number;
}

export interface ModelPrice extends Rates {
  /** Long-context prices: the whole request is priced at a tier's rates once its prompt passes `above` tokens. */
  tiers?: readonly { above: number; rates: Rates }[];
  /** A price per request on top of the tokens. */
  requestPico?: number;
  /** A price per web search the provider runs (tools billed per call). */
  webSearchPico?: number;
  /** The dearest a prompt token, an answer token and a request can cost (every tier, time of day, modality). */
  worst: { inputPico: number; outputPico: number; requestPico: number };
  /** The model's largest answer, when the price list says. */
  maxOutputTokens?: number;
  /** The model's context window, when the price list says. */
  maxInputTokens?: number;
  /** Where the price comes from: the catalog (with its version and model), pricing_file, or [models]. */
  source: string;
}

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  /** Part of promptTokens written to the provider's prompt cache. */
  cacheWriteTokens?: number | null;
  /** Web searches the provider ran for the request (billed per call). */
  webSearches?: number | null;
}

/** A flat price from USD per token (LiteLLM's and the config file's unit). */
export function flatPrice(input: number, output: number, cached: number | undefined, cacheWrite: number | undefined, source: string): ModelPrice {
  const toPico = (usd: number) => Math.round(usd * PICO_PER_USD);
  const rates = { inputPico: toPico(input), outputPico: toPico(output), cachedInputPico: toPico(cached ?? input), cacheWritePico: toPico(cacheWrite ?? input) };
  return { ...rates, worst: { inputPico: Math.max(rates.inputPico, rates.cachedInputPico, rates.cacheWritePico), outputPico: rates.outputPico, requestPico: 0 }, source };
}

/** The rates that apply to a prompt of this many tokens. */
export function ratesFor(price: ModelPrice, promptTokens: number): Rates {
  let rates: Rates = price;
  for (const tier of price.tiers ?? []) if (promptTokens > tier.above) rates = tier.rates;
  return rates;
}

/** Cost in integer nano-dollars (rounded half up from exact pico-dollars); null when the price is unknown. */
export function costNanoUsd(price: ModelPrice | undefined, t: TokenCounts): number | null {
  if (!price) return null;
  const searches = t.webSearches ?? 0;
  // Searches without a price would make the cost a fake figure: unpriced instead.
  if (searches > 0 && price.webSearchPico === undefined) return null;
  const r = ratesFor(price, t.promptTokens);
  const cached = Math.min(t.cachedTokens ?? 0, t.promptTokens);
  const written = Math.min(t.cacheWriteTokens ?? 0, t.promptTokens - cached);
  const pico =
    (t.promptTokens - cached - written) * r.inputPico + cached * r.cachedInputPico + written * r.cacheWritePico + t.completionTokens * r.outputPico + (price.requestPico ?? 0) + searches * (price.webSearchPico ?? 0);
  return Math.floor((pico + 500) / 1000);
}
