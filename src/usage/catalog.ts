// The embedded price catalog: @pydantic/genai-prices (MIT, published from github.com/pydantic/genai-prices),
// bundled into the binary at build time, so `bun update @pydantic/genai-prices` and a rebuild refresh every
// price. It is matched by the provider's base URL first (OpenRouter's and Groq's prices differ from the
// model maker's), then by the upstream type's provider, then by the model name alone.
import type { ModelInfo, ModelPrice as CatalogPrice, Provider, TieredPrices } from "@pydantic/genai-prices";
// The installed version (the package's exports hide its package.json from a bare import).
import catalogPackage from "../../node_modules/@pydantic/genai-prices/package.json" with { type: "json" };
import { PICO_PER_USD_PER_MTOK, type ModelPrice, type Rates } from "./price-types.ts";

type GenaiPrices = typeof import("@pydantic/genai-prices");

export const CATALOG_NAME = "@pydantic/genai-prices";
export const CATALOG_VERSION: string = catalogPackage.version;

let lib: GenaiPrices | undefined;

/** Loads the catalog (~100 ms, 2 MB of data): once, at start-up, not on a request's path. */
export function loadCatalog(): void {
  lib ??= require("@pydantic/genai-prices") as GenaiPrices;
}

/** A model as the catalog knows it; `at` resolves prices that change with the date or the time of day. */
export interface CatalogModel {
  provider: string;
  id: string;
  contextWindow?: number;
  at(ms: number): ModelPrice | undefined;
}

/** Where to look, in order: the provider's base URL, the provider id its upstream type speaks for, none. */
export interface CatalogHint {
  baseUrl?: string;
  providerId?: string;
}

/** The catalog's model for `model`, or undefined when neither the provider nor the name is known. */
export function catalogModel(model: string, hint: CatalogHint = {}): CatalogModel | undefined {
  loadCatalog();
  const attempts = [
    hint.baseUrl ? { providerApiUrl: hint.baseUrl } : undefined,
    hint.providerId ? { providerId: hint.providerId } : undefined,
    {},
  ];
  for (const options of attempts) {
    if (!options) continue;
    const hit = lib!.calcPrice({ input_tokens: 0 }, model, options);
    if (hit) return fromCatalog(hit.provider, hit.model);
  }
  return undefined;
}

function fromCatalog(provider: Provider, info: ModelInfo): CatalogModel {
  const source = `${CATALOG_NAME} ${CATALOG_VERSION}: ${provider.id}/${info.id}`;
  const limits = info.context_window ? { maxInputTokens: info.context_window } : {};
  const convert = (p: CatalogPrice) => toPrice(p, source, limits);
  if (!Array.isArray(info.prices)) {
    const price = convert(info.prices);
    return { provider: provider.id, id: info.id, contextWindow: info.context_window, at: () => price };
  }
  const variants = info.prices.map((c) => ({ constraint: c.constraint, price: convert(c.prices) }));
  // Every variant's dearest rate, so a reservation made under one variant covers the cost under another.
  const worst = worstOf(variants.map((v) => v.price).filter((p) => p !== undefined));
  for (const v of variants) if (v.price) v.price = { ...v.price, worst };
  return {
    provider: provider.id,
    id: info.id,
    contextWindow: info.context_window,
    at(ms) {
      const when = new Date(ms);
      for (let i = variants.length - 1; i >= 0; i--) {
        const { constraint, price } = variants[i]!;
        if (!constraint) return price;
        if (constraint.type === "start_date" && when >= new Date(constraint.start_date)) return price;
        if (constraint.type === "time_of_date" && withinTimeOfDay(when, constraint.start_time, constraint.end_time)) return price;
      }
      return variants[0]!.price;
    },
  };
}

/** Same rule as the catalog's own calculator: [start, end) in UTC, wrapping past midnight. */
function withinTimeOfDay(when: Date, start: string, end: string): boolean {
  const secondsOf = (hms: string) => {
    const [h, m, s] = hms.replace(/Z$/, "").split(":").map(Number);
    return (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
  };
  const now = when.getUTCHours() * 3600 + when.getUTCMinutes() * 60 + when.getUTCSeconds();
  const a = secondsOf(start);
  const b = secondsOf(end);
  return b < a ? now >= a || now < b : now >= a && now < b;
}

// The catalog's per-token price keys by what our usage rows count. Keys the rows cannot tell apart (audio,
// image, 1-hour cache writes, reasoning priced apart) only raise the reservation's worst case.
const INPUT_KEYS = ["input_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok", "input_audio_mtok", "cache_audio_read_mtok", "input_image_mtok", "cache_image_read_mtok", "input_video_mtok"];
const OUTPUT_KEYS = ["output_mtok", "output_audio_mtok", "output_image_mtok", "output_reasoning_mtok", "output_citation_mtok", "output_video_mtok"];

type PriceValue = number | TieredPrices | undefined;

/** The value that applies to a prompt of `promptTokens` (a tier applies to the whole request past its start). */
function valueAt(v: PriceValue, promptTokens: number): number | undefined {
  if (v === undefined || typeof v === "number") return v;
  let price = v.base;
  for (const tier of v.tiers) if (promptTokens > tier.start) price = tier.price;
  return price;
}

function toPrice(p: CatalogPrice, source: string, limits: Partial<ModelPrice>): ModelPrice | undefined {
  if (p.input_mtok === undefined && p.output_mtok === undefined) return undefined;
  const ratesAt = (prompt: number): Rates => {
    const pico = (key: string) => Math.round((valueAt(p[key], prompt) ?? 0) * PICO_PER_USD_PER_MTOK);
    const input = pico("input_mtok");
    const read = valueAt(p.cache_read_mtok, prompt);
    const write = valueAt(p.cache_write_mtok, prompt);
    return {
      inputPico: input,
      outputPico: pico("output_mtok"),
      cachedInputPico: read === undefined ? input : pico("cache_read_mtok"),
      cacheWritePico: write === undefined ? input : pico("cache_write_mtok"),
    };
  };
  const starts = new Set<number>();
  for (const v of Object.values(p)) if (v !== undefined && typeof v !== "number") for (const t of v.tiers) starts.add(t.start);
  const tiers = [...starts].sort((a, b) => a - b).map((above) => ({ above, rates: ratesAt(above + 1) }));
  const thresholds = [0, ...tiers.map((t) => t.above + 1)];
  const dearest = (keys: string[]) => Math.max(0, ...thresholds.flatMap((n) => keys.map((k) => Math.round((valueAt(p[k], n) ?? 0) * PICO_PER_USD_PER_MTOK))));
  // Per 1,000 calls in USD: pico-dollars per call.
  const perCall = (key: string) => (typeof p[key] === "number" ? Math.round((p[key] as number) * 1e9) : undefined);
  const requestPico = perCall("requests_kcount") ?? 0;
  const webSearchPico = perCall("web_searches_kcount");
  return {
    ...ratesAt(0),
    ...(webSearchPico !== undefined ? { webSearchPico } : {}),
    ...(tiers.length > 0 ? { tiers } : {}),
    ...(requestPico > 0 ? { requestPico } : {}),
    worst: { inputPico: dearest(INPUT_KEYS), outputPico: dearest(OUTPUT_KEYS), requestPico },
    ...limits,
    source,
  };
}

function worstOf(prices: ModelPrice[]): ModelPrice["worst"] {
  return {
    inputPico: Math.max(0, ...prices.map((p) => p.worst.inputPico)),
    outputPico: Math.max(0, ...prices.map((p) => p.worst.outputPico)),
    requestPico: Math.max(0, ...prices.map((p) => p.worst.requestPico)),
  };
}
