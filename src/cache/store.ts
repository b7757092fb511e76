// Where cached answers live: SQLite's response_cache table (store/sqlite/response-cache.ts), or Redis
// when several instances share one (cache/redis-store.ts). Both expire entries themselves.
import type { CacheSettings } from "./policy.ts";

/** An answer as first given by the provider, in the customer's API, and what it was charged. */
export interface CachedAnswer {
  /** The answer's JSON text in the customer's API (a chat completion, a message, an embedding list). */
  body: string;
  provider: string;
  modelAnswered: string | null;
  /** The tokens as the row of the first answer recorded them. */
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  cacheWriteTokens: number | null;
  /** What the first answer cost: a hit saves it. */
  costNanoUsd: number | null;
}

export interface ResponseCacheStore {
  /** The entry under `key`, unless it expired by `now`; undefined also when the store cannot be read in time. */
  get(key: string, now: number): CachedAnswer | undefined | Promise<CachedAnswer | undefined>;
  /** Stores (or replaces) the entry until `expiresAt`; `capBytes` bounds what a table-backed store keeps (oldest first out). */
  put(key: string, answer: CachedAnswer, expiresAt: number, now: number, capBytes: number): Promise<void>;
}

/** The response cache as the request path holds it: where answers live and which requests it takes. */
export interface ResponseCache {
  store: ResponseCacheStore;
  settings: CacheSettings;
}
