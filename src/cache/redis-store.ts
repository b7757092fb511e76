// The response cache in the Redis several instances share: one string per cache key, expiring with its
// TTL (Redis's own maxmemory policy bounds its size). While Redis cannot be reached, every lookup is a
// miss and nothing is stored: requests go to the provider as without a cache.
import type { CachedAnswer, ResponseCacheStore } from "./store.ts";

/** What the cache needs of the Redis link (limits/redis-link.ts): one command, undefined when Redis is unreachable. */
export interface RedisCommands {
  command(name: string, args: string[]): Promise<unknown>;
}

const PREFIX = "gw:cache:";

export function redisResponseCache(link: RedisCommands): ResponseCacheStore {
  return {
    async get(key) {
      const value = await link.command("GET", [PREFIX + key]).catch(() => undefined);
      return typeof value === "string" ? (JSON.parse(value) as CachedAnswer) : undefined;
    },
    async put(key, answer, expiresAt, now) {
      const ttl = Math.max(1, expiresAt - now);
      await link.command("SET", [PREFIX + key, JSON.stringify(answer), "PX", String(ttl)]);
    },
  };
}
