// Tokens per minute, requests in flight and budget reservations shared by every instance through Redis:
// one Lua script checks all three and reserves, per request. Requests in flight and budget reservations
// are leases (LEASE_MS) that their instance renews while the request runs, so what an instance that died
// — or a script that ran after its caller gave up — held frees itself within seconds; a token reservation
// lives in its minute's window and is forgotten with it. Releasing is idempotent (per-ticket entries), so
// a caller that gave up on a slow Redis releases what its script may still reserve. When Redis comes back
// empty (restarted without persistence), every instance puts back the reservations of its requests in
// flight, and budgeted admissions wait GRACE_MS for all of them to have done so.
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
/** How long an in-flight slot or budget reservation lives unless its instance renews it. */
const LEASE_MS = 10_000;
/** How often an instance renews its requests' leases and checks that Redis kept them. */
const RENEW_MS = 2_000;
/** After Redis lost its data, budgeted admissions wait this long: every instance has renewed by then. */
const GRACE_MS = 2 * RENEW_MS + 1_000;
/**
 * Created (with its time) whenever missing: an instance that sees it change knows Redis lost everything it
 * held. Every instance looks every RENEW_MS, so all have put their reservations back within GRACE_MS of
 * the new value (an instance started in those few seconds would not know; it holds nothing itself).
 */
const EPOCH_KEY = "gw:epoch";

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
  redis.call("HSET", KEYS[1], ARGV[5], tokens)
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

// KEYS as ADMIT's; ARGV: tokens used (settle) or -1 (release), ticket id, and when a settled request's
// budget reservation lapses. Only what the ticket holds is undone: running it twice, or for a ticket whose
// admission was refused or never ran, changes nothing.
const FINISH = `
local t = redis.call("HGET", KEYS[1], ARGV[2])
if t then
  redis.call("HINCRBY", KEYS[1], "reserved", -tonumber(t))
  redis.call("HDEL", KEYS[1], ARGV[2])
  if tonumber(ARGV[1]) >= 0 then redis.call("HINCRBY", KEYS[1], "used", ARGV[1]) end
end
redis.call("ZREM", KEYS[2], ARGV[2])
if tonumber(ARGV[1]) >= 0 then
  redis.call("ZADD", KEYS[4], "XX", ARGV[3], ARGV[2])
else
  local c = redis.call("HGET", KEYS[3], ARGV[2])
  if c then
    redis.call("HINCRBY", KEYS[3], "_sum", -tonumber(c))
    redis.call("HDEL", KEYS[3], ARGV[2])
  end
  redis.call("ZREM", KEYS[4], ARGV[2])
end
return 1`;

// KEYS as ADMIT's; ARGV: the new expiry, then per ticket: id, "1" if it holds a slot, its budget
// reservation (-1: none). Puts back what Redis lost (a restart), extends what it kept.
const RENEW = `
local expiry = ARGV[1]
for i = 2, #ARGV, 3 do
  local id, cost = ARGV[i], tonumber(ARGV[i + 2])
  if ARGV[i + 1] == "1" then
    redis.call("ZADD", KEYS[2], expiry, id)
    redis.call("PEXPIREAT", KEYS[2], expiry)
  end
  if cost >= 0 then
    if redis.call("HSETNX", KEYS[3], id, cost) == 1 then redis.call("HINCRBY", KEYS[3], "_sum", cost) end
    redis.call("ZADD", KEYS[4], expiry, id)
    redis.call("PEXPIREAT", KEYS[3], expiry)
    redis.call("PEXPIREAT", KEYS[4], expiry)
  end
end
return 1`;

export interface SharedCountersOptions {
  link: RedisLink;
  /** Decides tokens and slots while Redis is unreachable. */
  local: CounterStore;
  /** Spend committed for the key since `from`, read from the database now (every instance's rows). */
  loadSpent(keyId: string, from: number): number | Promise<number>;
  /** How long an in-flight slot or budget reservation lives unless renewed (default LEASE_MS). */
  leaseMs?: number;
  /** How long a settled request's budget reservation is kept after its row committed. */
  settleDelayMs?: number;
}

export function createSharedCounters({ link, local, loadSpent, leaseMs = LEASE_MS, settleDelayMs = 2000 }: SharedCountersOptions): CounterStore {
  // The last counts Redis reported per key: what headers and GET /v1/key show between requests.
  const seen = new Map<string, { tpm?: { window: number; used: number; reserved: number }; inFlight: number; budget?: { start: number; end: number | null; spent: number; reserved: number } }>();
  let tickets = 0;
  const prefix = `${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  // This instance's requests in flight: their leases are renewed, and put back after Redis lost them.
  const held = new Map<string, { keys: string[]; slot: boolean; cost: number }>();
  let epoch: string | undefined;
  let graceUntil = 0;

  /** Renews every lease this instance holds (one script per API key), re-creating what Redis lost. */
  async function renewAll(): Promise<void> {
    const byKey = new Map<string, { keys: string[]; args: (string | number)[] }>();
    const expiry = Date.now() + leaseMs;
    for (const [id, t] of held) {
      let group = byKey.get(t.keys[2]!);
      if (!group) byKey.set(t.keys[2]!, (group = { keys: t.keys, args: [expiry] }));
      group.args.push(id, t.slot ? "1" : "0", t.cost);
    }
    await Promise.all([...byKey.values()].map((g) => link.run(RENEW, g.keys, g.args)));
  }

  /** "recovering" while budgeted admissions must wait for every instance to put its reservations back. */
  async function checkEpoch(): Promise<"ok" | "recovering" | "unreachable"> {
    let value = await link.command("GET", [EPOCH_KEY]);
    if (value === null) {
      await link.command("SET", [EPOCH_KEY, String(Date.now()), "NX"]);
      value = await link.command("GET", [EPOCH_KEY]);
    }
    if (value === undefined || value === null) return "unreachable";
    if (String(value) !== epoch) {
      // Seen change: Redis lost what it held (a first look at a fresh Redis is not one, nothing was held).
      if (epoch !== undefined) graceUntil = Number(value) + GRACE_MS;
      epoch = String(value);
      await renewAll();
    }
    return Date.now() < graceUntil ? "recovering" : "ok";
  }

  const tick = async () => {
    if (held.size > 0) await renewAll();
    await checkEpoch();
  };
  const renewer = setInterval(() => void tick(), RENEW_MS);
  renewer.unref();

  async function admit(limits: KeyLimits, estimate: Estimate, now: number): Promise<Admission> {
    if (limits.tpmLimit === null && limits.maxParallel === null && limits.budgetNanoUsd === null) return local.admit(limits, estimate, now);
    const window = now - (now % MINUTE);
    const id = `${prefix}.${tickets++}`;
    const k = `gw:{${limits.keyId}}`;
    const keys = [`${k}:tpm:${window}`, `${k}:inflight`, `${k}:budget`, `${k}:budget-expiry`];
    const period = limits.budgetNanoUsd === null ? undefined : periodBounds(limits.budgetPeriod, now);
    const spent = period ? await loadSpent(limits.keyId, period.start) : 0;
    const args = [now, limits.tpmLimit ?? -1, estimate.tokens, limits.maxParallel ?? -1, id, now + leaseMs, MINUTE + 5000, limits.budgetNanoUsd ?? -1, estimate.costNanoUsd, spent];
    // A budget needs Redis to hold every instance's reservations: checked alongside (pipelined).
    const [state, answer] = await Promise.all([period ? checkEpoch() : "ok", link.run(ADMIT, keys, args) as Promise<[string, number, number, number, number] | undefined>]);
    const finish = (tokensUsed: number, lapse: number) => void link.run(FINISH, keys, [tokensUsed, id, lapse]);
    if (answer === undefined || state !== "ok") {
      // Given up on (or refused below): whatever the script reserves if it still runs is released after it.
      finish(-1, 0);
      if (period && state === "recovering") throw new ApiError(503, "The shared counter store lost its data and the gateway instances are putting back the reservations of requests in flight; this API key's budget can be checked again in a few seconds.", "server_error", "budget_unavailable", null, { "retry-after": "2" });
      if (period) throw new ApiError(503, "This API key's budget is shared by several gateway instances and cannot be checked right now (the shared counter store is unreachable). Retry shortly.", "server_error", "budget_unavailable", null, { "retry-after": "5" });
      return local.admit(limits, estimate, now);
    }
    const [verdict, used, reserved, inFlight, heldNano] = answer.map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number, number];
    seen.set(limits.keyId, {
      tpm: limits.tpmLimit === null ? undefined : { window, used, reserved },
      inFlight,
      budget: period && { start: period.start, end: period.end, spent, reserved: heldNano },
    });
    if (verdict !== "ok") return verdict === "tpm" ? { ok: false, reason: "tpm", resetMs: window + MINUTE - now } : { ok: false, reason: verdict as "parallel" | "tpm_never_fits" | "budget_exhausted" | "budget_reserved" };
    held.set(id, { keys, slot: limits.maxParallel !== null, cost: period ? estimate.costNanoUsd : -1 });
    // One call either way. Settled: the row is committed and its cost is in the database; the budget
    // reservation lapses settleDelayMs later (an instance that read the spend just before the commit
    // still sees it reserved) and a later admission removes it. Released: no row; it goes now.
    const close = (tokensUsed: number) => {
      if (!held.delete(id)) return;
      finish(tokensUsed, Date.now() + settleDelayMs);
    };
    const ticket: Ticket = { settle: (actual) => close(actual.tokens), release: () => close(-1) };
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
