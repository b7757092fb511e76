// Tokens per minute, requests in flight and budget reservations shared by every instance through Redis:
// one Lua script checks all three and reserves, per request. Requests in flight and budget reservations
// are members that expire, so what an instance that died held frees itself; a token reservation lives
// in its minute's window and is forgotten with it.
//
// Spend is never kept in Redis: it is read from the database (the rows every instance commits), so a
// row is counted once and never lost, whoever committed it and whatever died afterwards. A settled
// request keeps its budget reservation a little longer (settleDelayMs) so that another instance that
// read the spend just before this commit still sees it reserved: the budget is never overshot.
//
// While Redis is unreachable, tokens and slots are counted in each process; budgeted keys are refused
// (503): a budget shared by several instances cannot be checked alone.
import { ApiError } from "../errors.ts";
import type { RedisLink } from "../limits/redis-link.ts";
import { periodBounds } from "./periods.ts";
import type { Admission, CounterStore, Estimate, KeyLimits, KeySnapshot, Ticket } from "./counters.ts";

const MINUTE = 60_000;

// KEYS[1] the minute's token hash (used, reserved), KEYS[2] the in-flight set, KEYS[3] the budget
// reservations (ticket -> cost, and their sum in "_sum"), KEYS[4] their expiries. ARGV: now, tpm limit (-1: none), tokens,
// max parallel (-1: none), ticket id, its expiry, window ttl, budget (-1: none), cost, spent.
const ADMIT = `
local now, tpm, tokens, par = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local budget, cost, spent = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local used, reserved, inflight, held = 0, 0, 0, 0
if budget >= 0 then
  -- Reservations of instances that died expire; the running sum ("_sum") keeps the check O(1).
  local expired = redis.call("ZRANGEBYSCORE", KEYS[4], "-inf", now)
  for _, t in ipairs(expired) do
    local c = redis.call("HGET", KEYS[3], t)
    if c then
      redis.call("HINCRBY", KEYS[3], "_sum", -tonumber(c))
      redis.call("HDEL", KEYS[3], t)
    end
  end
  if #expired > 0 then redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", now) end
  held = tonumber(redis.call("HGET", KEYS[3], "_sum") or "0")
  if spent + cost > budget then return {"budget_exhausted", used, reserved, inflight, held} end
end
if tpm >= 0 then
  used = tonumber(redis.call("HGET", KEYS[1], "used") or "0")
  reserved = tonumber(redis.call("HGET", KEYS[1], "reserved") or "0")
  if tokens > tpm then return {"tpm_never_fits", used, reserved, 0, held} end
end
if par >= 0 then
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
  inflight = redis.call("ZCARD", KEYS[2])
  if inflight >= par then return {"parallel", used, reserved, inflight, held} end
end
if tpm >= 0 and used + reserved + tokens > tpm then return {"tpm", used, reserved, inflight, held} end
if budget >= 0 and spent + held + cost > budget then return {"budget_reserved", used, reserved, inflight, held} end
if tpm >= 0 then
  redis.call("HINCRBY", KEYS[1], "reserved", tokens)
  redis.call("PEXPIRE", KEYS[1], ARGV[7])
end
if par >= 0 then
  redis.call("ZADD", KEYS[2], ARGV[6], ARGV[5])
  redis.call("PEXPIREAT", KEYS[2], ARGV[6])
  inflight = inflight + 1
end
if budget >= 0 then
  redis.call("HSET", KEYS[3], ARGV[5], cost)
  redis.call("HINCRBY", KEYS[3], "_sum", cost)
  redis.call("ZADD", KEYS[4], ARGV[6], ARGV[5])
  redis.call("PEXPIREAT", KEYS[3], ARGV[6])
  redis.call("PEXPIREAT", KEYS[4], ARGV[6])
  held = held + cost
end
return {"ok", used, reserved + tokens, inflight, held}`;

// KEYS as ADMIT's; ARGV: tokens reserved, tokens used (settle) or -1 (release), ticket id, and when a
// settled request's budget reservation lapses.
const FINISH = `
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HINCRBY", KEYS[1], "reserved", -tonumber(ARGV[1]))
  if tonumber(ARGV[2]) >= 0 then redis.call("HINCRBY", KEYS[1], "used", ARGV[2]) end
end
redis.call("ZREM", KEYS[2], ARGV[3])
if tonumber(ARGV[2]) >= 0 then
  redis.call("ZADD", KEYS[4], "XX", ARGV[4], ARGV[3])
else
  local c = redis.call("HGET", KEYS[3], ARGV[3])
  if c then
    redis.call("HINCRBY", KEYS[3], "_sum", -tonumber(c))
    redis.call("HDEL", KEYS[3], ARGV[3])
  end
  redis.call("ZREM", KEYS[4], ARGV[3])
end
return 1`;

export interface SharedCountersOptions {
  link: RedisLink;
  /** Decides tokens and slots while Redis is unreachable. */
  local: CounterStore;
  /** Spend committed for the key since `from`, read from the database now (every instance's rows). */
  loadSpent(keyId: string, from: number): number | Promise<number>;
  /** How long a request's in-flight slot and budget reservation live at most (longer than the upstream timeout). */
  slotTtlMs: number;
  /** How long a settled request's budget reservation is kept after its row committed. */
  settleDelayMs?: number;
}

export function createSharedCounters({ link, local, loadSpent, slotTtlMs, settleDelayMs = 2000 }: SharedCountersOptions): CounterStore {
  // The last counts Redis reported per key: what headers and GET /v1/key show between requests.
  const seen = new Map<string, { tpm?: { window: number; used: number; reserved: number }; inFlight: number; budget?: { start: number; end: number | null; spent: number; reserved: number } }>();
  let tickets = 0;
  const prefix = `${process.pid}.${Math.random().toString(36).slice(2, 8)}`;

  async function admit(limits: KeyLimits, estimate: Estimate, now: number): Promise<Admission> {
    if (limits.tpmLimit === null && limits.maxParallel === null && limits.budgetNanoUsd === null) return local.admit(limits, estimate, now);
    const window = now - (now % MINUTE);
    const id = `${prefix}.${tickets++}`;
    const k = `gw:{${limits.keyId}}`;
    const keys = [`${k}:tpm:${window}`, `${k}:inflight`, `${k}:budget`, `${k}:budget-expiry`];
    const period = limits.budgetNanoUsd === null ? undefined : periodBounds(limits.budgetPeriod, now);
    const spent = period ? await loadSpent(limits.keyId, period.start) : 0;
    const args = [now, limits.tpmLimit ?? -1, estimate.tokens, limits.maxParallel ?? -1, id, now + slotTtlMs, MINUTE + 5000, limits.budgetNanoUsd ?? -1, estimate.costNanoUsd, spent];
    const answer = (await link.run(ADMIT, keys, args)) as [string, number, number, number, number] | undefined;
    if (answer === undefined) {
      if (period) throw new ApiError(503, "This API key's budget is shared by several gateway instances and cannot be checked right now (the shared counter store is unreachable). Retry shortly.", "server_error", "budget_unavailable", null, { "retry-after": "5" });
      return local.admit(limits, estimate, now);
    }
    const [verdict, used, reserved, inFlight, held] = answer.map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number, number];
    seen.set(limits.keyId, {
      tpm: limits.tpmLimit === null ? undefined : { window, used, reserved },
      inFlight,
      budget: period && { start: period.start, end: period.end, spent, reserved: held },
    });
    if (verdict !== "ok") return verdict === "tpm" ? { ok: false, reason: "tpm", resetMs: window + MINUTE - now } : { ok: false, reason: verdict as "parallel" | "tpm_never_fits" | "budget_exhausted" | "budget_reserved" };
    let open = true;
    // One call either way. Settled: the row is committed and its cost is in the database; the budget
    // reservation lapses settleDelayMs later (an instance that read the spend just before the commit
    // still sees it reserved) and a later admission removes it. Released: no row; it goes now.
    const finish = (tokensUsed: number) => {
      if (!open) return;
      open = false;
      void link.run(FINISH, keys, [estimate.tokens, tokensUsed, id, Date.now() + settleDelayMs]);
    };
    const ticket: Ticket = { settle: (actual) => finish(actual.tokens), release: () => finish(-1) };
    return { ok: true, ticket };
  }

  return {
    admit,
    // Shown from what Redis last reported; nothing to load.
    ready: () => {},
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
      if (limits.budgetNanoUsd !== null && s.budget && s.budget.start === periodBounds(limits.budgetPeriod, now).start) {
        out.budget = { limitNano: limits.budgetNanoUsd, spentNano: s.budget.spent, reservedNano: s.budget.reserved, period: limits.budgetPeriod, periodStart: s.budget.start, periodEnd: s.budget.end };
      }
      return out;
    },
  };
}
