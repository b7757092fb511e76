// Which requests the response cache answers, and under which key. A request is cached when its key has
// a cache TTL or it sends x-gateway-cache-ttl (0: never), and it is deterministic enough: temperature
// absent or 0 and one answer (n ≤ 1), unless the operator widens that (cache_any_temperature). The key
// is the routed provider and model and the request canonicalized (JSON key order; stream, user and
// metadata left out), within the configured scope: the key (default), its customer, or every key.
import { invalidRequest } from "../errors.ts";
import type { Endpoint } from "../upstreams/provider-config.ts";

export type CacheScope = "key" | "customer" | "global";

export interface CacheSettings {
  scope: CacheScope;
  /** What the SQLite table keeps at most (oldest entries go first). */
  maxBytes: number;
  /** Cache requests with any temperature too. */
  anyTemperature: boolean;
}

export const CACHE_HEADER = "x-gateway-cache-ttl";
/** A TTL longer than this is refused (a stale answer served for months is a mistake, not a setting). */
export const MAX_CACHE_TTL_S = 30 * 86_400;

export type CachePlan =
  /** The cache is not in play: no header is sent. */
  | { use: false; bypass: false }
  /** The cache is on for the key or the request, but this request is not answered from it. */
  | { use: false; bypass: true }
  | { use: true; key: string; ttlMs: number };

export interface CacheRequest {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  /** The x-gateway-cache-ttl header, as sent. */
  header: string | null;
  keyTtlS: number | null;
  keyId: string;
  customerId: string | null;
  provider: string;
  upstreamModel: string;
}

/** Fields that change how an answer is delivered or attributed, never what it says. */
const DELIVERY = new Set(["stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key"]);

const OFF: CachePlan = { use: false, bypass: false };
const BYPASS: CachePlan = { use: false, bypass: true };

/** The request's TTL in seconds from the header (400 for anything but whole seconds within the maximum). */
export function headerTtl(header: string | null): number | null {
  if (header === null) return null;
  if (!/^\d{1,10}$/.test(header.trim()) || Number(header) > MAX_CACHE_TTL_S) {
    throw invalidRequest(`The ${CACHE_HEADER} header must be a whole number of seconds from 0 (do not use the cache) to ${MAX_CACHE_TTL_S}.`, CACHE_HEADER, "invalid_cache_ttl");
  }
  return Number(header);
}

export function deterministic(endpoint: Endpoint, body: Record<string, unknown>, settings: CacheSettings): boolean {
  if (endpoint === "embeddings") return true;
  const n = body.n ?? 1;
  if (n !== 1 && n !== null) return false;
  if (settings.anyTemperature) return true;
  return body.temperature === undefined || body.temperature === null || body.temperature === 0;
}

export function planCache(req: CacheRequest, settings: CacheSettings): CachePlan {
  const asked = headerTtl(req.header);
  const ttlS = asked ?? req.keyTtlS;
  if (ttlS === null) return OFF;
  // The Responses API keeps conversations at the provider: a replayed answer would have no stored twin.
  if (ttlS === 0 || req.endpoint === "responses" || !deterministic(req.endpoint, req.body, settings)) return BYPASS;
  const scope = settings.scope === "global" ? "global" : settings.scope === "customer" && req.customerId !== null ? `customer:${req.customerId}` : `key:${req.keyId}`;
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.body)) if (!DELIVERY.has(k)) content[k] = v;
  const canonical = canonicalJson([scope, req.provider, req.upstreamModel, req.endpoint, content]);
  return { use: true, key: new Bun.CryptoHasher("sha256").update(canonical).digest("hex"), ttlMs: ttlS * 1000 };
}

/** JSON with every object's keys in order: the same request written two ways is one key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
