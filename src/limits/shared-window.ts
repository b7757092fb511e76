// The per-minute request limit shared by every instance through Redis: one atomic step per request (a
// Lua script that counts and reads), keys hash-tagged by API key so Redis Cluster keeps a key's counters
// on one shard. While Redis cannot be reached the limit is counted per instance, with one warning, and
// sharing resumes by itself when Redis answers again.
import { RedisClient } from "bun";
import type { LimitDecision, Limiter } from "./fixed-window.ts";

const WINDOW_MS = 60_000;

// KEYS[1] the window's counter; ARGV[1] its lifetime (ms), ARGV[2] "1" to count this request.
const TAKE = `
local n
if ARGV[2] == "1" then
  n = redis.call("INCR", KEYS[1])
  if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
else
  n = tonumber(redis.call("GET", KEYS[1]) or "0")
end
return n`;

export type SharedLimiter = (id: string, limit: number, count?: boolean) => Promise<LimitDecision>;

export interface SharedLimiterOptions {
  url: string;
  /** Counts per instance while Redis is unreachable. */
  local: Limiter;
  /** A Redis answer slower than this counts as unreachable (the request is not held up). */
  timeoutMs?: number;
  clock?: () => number;
  log?: (line: string) => void;
}

export function createSharedLimiter({ url, local, timeoutMs = 250, clock = Date.now, log = console.error }: SharedLimiterOptions) {
  // No offline queue: while disconnected a command fails at once instead of waiting for a reconnect.
  const redis = new RedisClient(url, { enableOfflineQueue: false, connectionTimeout: 2000, autoReconnect: true, maxRetries: 4_294_967_295 });
  let degraded = false;
  const where = new URL(url).host;

  const fail = (err: unknown) => {
    if (!degraded) log(`[gateway] redis at ${where} unreachable (${(err as Error)?.message ?? err}): request limits are counted per instance until it answers again`);
    degraded = true;
  };

  const take: SharedLimiter = async (id, limit, count = true) => {
    const now = clock();
    const start = now - (now % WINDOW_MS);
    const resetMs = start + WINDOW_MS - now;
    let n: number;
    try {
      let timer: Timer | undefined;
      const answer = redis.send("EVAL", [TAKE, "1", `gw:{${id}}:rpm:${start}`, String(WINDOW_MS + 5000), count ? "1" : "0"]);
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
      try {
        n = Number(await Promise.race([answer, late]));
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      fail(err);
      return local(id, limit, count);
    }
    if (degraded) {
      degraded = false;
      log(`[gateway] redis at ${where} answers again: request limits are shared across instances`);
    }
    if (!count) return { allowed: true, limit, remaining: Math.max(0, limit - n), resetMs };
    return n > limit ? { allowed: false, limit, remaining: 0, resetMs } : { allowed: true, limit, remaining: limit - n, resetMs };
  };

  // Connected before the first request where possible (without an offline queue, a command sent while
  // connecting would fail and be counted locally); an unreachable Redis at start is a warning, not an error.
  const ready = Promise.race([redis.connect(), Bun.sleep(2000).then(() => Promise.reject(new Error("no connection within 2000 ms")))]).catch(fail);

  return { take, ready, close: () => redis.close() };
}
