// Tokens per minute and requests in flight shared by every instance through Redis: one Lua script
// checks both and reserves, per request. Requests in flight are members of a sorted set that expire,
// so a slot held by an instance that died frees itself; a token reservation lives in its minute's
// window and is forgotten with it. While Redis is unreachable the in-process counters decide. The
// budget is still counted in each process (the in-process store decides it first).
import type { RedisLink } from "../limits/redis-link.ts";
import type { Admission, CounterStore, Estimate, KeyLimits, KeySnapshot, Ticket } from "./counters.ts";

const MINUTE = 60_000;

// KEYS[1] the minute's token hash (used, reserved), KEYS[2] the in-flight set.
// ARGV: now, tpm limit (-1: none), tokens, max parallel (-1: none), ticket id, its expiry, window ttl.
const ADMIT = `
local now, tpm, tokens, par = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local used, reserved, inflight = 0, 0, 0
if tpm >= 0 then
  used = tonumber(redis.call("HGET", KEYS[1], "used") or "0")
  reserved = tonumber(redis.call("HGET", KEYS[1], "reserved") or "0")
  if tokens > tpm then return {"tpm_never_fits", used, reserved, 0} end
end
if par >= 0 then
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
  inflight = redis.call("ZCARD", KEYS[2])
  if inflight >= par then return {"parallel", used, reserved, inflight} end
end
if tpm >= 0 and used + reserved + tokens > tpm then return {"tpm", used, reserved, inflight} end
if tpm >= 0 then
  redis.call("HINCRBY", KEYS[1], "reserved", tokens)
  redis.call("PEXPIRE", KEYS[1], ARGV[7])
end
if par >= 0 then
  redis.call("ZADD", KEYS[2], ARGV[6], ARGV[5])
  redis.call("PEXPIREAT", KEYS[2], ARGV[6])
  inflight = inflight + 1
end
return {"ok", used, reserved + tokens, inflight}`;

// KEYS as above; ARGV: tokens reserved, tokens used (settle) or -1 (release), ticket id.
const FINISH = `
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HINCRBY", KEYS[1], "reserved", -tonumber(ARGV[1]))
  if tonumber(ARGV[2]) >= 0 then redis.call("HINCRBY", KEYS[1], "used", ARGV[2]) end
end
redis.call("ZREM", KEYS[2], ARGV[3])
return 1`;

export interface SharedCountersOptions {
  link: RedisLink;
  /** Decides the budget always, and everything while Redis is unreachable. */
  local: CounterStore;
  /** How long a request's in-flight slot lives at most (longer than the upstream timeout). */
  slotTtlMs: number;
  clock?: () => number;
}

export function createSharedCounters({ link, local, slotTtlMs }: SharedCountersOptions): CounterStore {
  // The last counts Redis reported per key: what headers and GET /v1/key show between requests.
  const seen = new Map<string, { tpm?: { window: number; used: number; reserved: number }; inFlight: number }>();
  let tickets = 0;
  const prefix = `${process.pid}.${Math.random().toString(36).slice(2, 8)}`;

  async function admit(limits: KeyLimits, estimate: Estimate, now: number): Promise<Admission> {
    if (limits.tpmLimit === null && limits.maxParallel === null) return local.admit(limits, estimate, now);
    // The budget first, in this process; tokens and slots then in Redis.
    const budget = await local.admit({ ...limits, tpmLimit: null, maxParallel: null }, estimate, now);
    if (!budget.ok) return budget;
    const window = now - (now % MINUTE);
    const id = `${prefix}.${tickets++}`;
    const keys = [`gw:{${limits.keyId}}:tpm:${window}`, `gw:{${limits.keyId}}:inflight`];
    const answer = (await link.run(ADMIT, keys, [now, limits.tpmLimit ?? -1, estimate.tokens, limits.maxParallel ?? -1, id, now + slotTtlMs, MINUTE + 5000])) as [string, number, number, number] | undefined;
    if (answer === undefined) {
      budget.ticket.release();
      return local.admit(limits, estimate, now);
    }
    const [verdict, used, reserved, inFlight] = answer;
    seen.set(limits.keyId, { tpm: limits.tpmLimit === null ? undefined : { window, used: Number(used), reserved: Number(reserved) }, inFlight: Number(inFlight) });
    if (verdict !== "ok") {
      budget.ticket.release();
      return verdict === "tpm" ? { ok: false, reason: "tpm", resetMs: window + MINUTE - now } : { ok: false, reason: verdict as "parallel" | "tpm_never_fits" };
    }
    let open = true;
    const finish = (tokensUsed: number) => {
      if (!open) return false;
      open = false;
      void link.run(FINISH, keys, [estimate.tokens, tokensUsed, id]);
      return true;
    };
    const ticket: Ticket = {
      settle(actual) {
        if (finish(actual.tokens)) budget.ticket.settle(actual);
      },
      release() {
        if (finish(-1)) budget.ticket.release();
      },
    };
    return { ok: true, ticket };
  }

  return {
    admit,
    snapshot(limits, now): KeySnapshot {
      const out = local.snapshot(limits, now);
      const s = seen.get(limits.keyId);
      if (!s) return out;
      const window = now - (now % MINUTE);
      if (limits.tpmLimit !== null) {
        const t = s.tpm?.window === window ? s.tpm : { used: 0, reserved: 0 };
        out.tokens = { limit: limits.tpmLimit, used: t.used, reserved: t.reserved, resetMs: window + MINUTE - now };
      }
      out.inFlight = s.inFlight;
      return out;
    },
  };
}
