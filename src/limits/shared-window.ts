// The per-minute request limit shared by every instance through Redis: one atomic step per request (a
// Lua script that counts and reads), keys hash-tagged by API key so Redis Cluster keeps a key's
// counters on one shard; counted per instance while Redis is unreachable.
import type { LimitDecision, Limiter, Take } from "./fixed-window.ts";
import type { RedisLink } from "./redis-link.ts";

const WINDOW_MS = 60_000;

// KEYS[1] the window's counter; ARGV[1] its lifetime (ms), ARGV[2] "1" to count this request, "-1" to give one back.
const TAKE = `
local n
if ARGV[2] == "1" then
  n = redis.call("INCR", KEYS[1])
  if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
elseif ARGV[2] == "-1" then
  n = tonumber(redis.call("GET", KEYS[1]) or "0")
  if n > 0 then n = redis.call("DECR", KEYS[1]) end
else
  n = tonumber(redis.call("GET", KEYS[1]) or "0")
end
return n`;

export type SharedLimiter = (id: string, limit: number, count?: Take) => Promise<LimitDecision>;

export function createSharedLimiter({ link, local, clock = Date.now }: { link: RedisLink; local: Limiter; clock?: () => number }): SharedLimiter {
  return async (id, limit, count = true) => {
    const now = clock();
    const start = now - (now % WINDOW_MS);
    const resetMs = start + WINDOW_MS - now;
    const answer = await link.run(TAKE, [`gw:{${id}}:rpm:${start}`], [WINDOW_MS + 5000, count === "refund" ? "-1" : count ? "1" : "0"]);
    if (answer === undefined) return local(id, limit, count);
    const n = Number(answer);
    if (count !== true) return { allowed: true, limit, remaining: Math.max(0, limit - n), resetMs };
    return n > limit ? { allowed: false, limit, remaining: 0, resetMs } : { allowed: true, limit, remaining: limit - n, resetMs };
  };
}
