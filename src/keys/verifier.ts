import { hasLimits, type KeyLimits } from "../admission/counters.ts";
import { parseModelList } from "../admission/allow-list.ts";
import { parseIpList, type IpAllowList } from "../admission/ip-allow-list.ts";
import { balanceSubject, customerSubject } from "../admission/subjects.ts";
import { isBudgetPeriod } from "../admission/periods.ts";
import { lookupDigest } from "./secret.ts";

export interface VerifiedKey {
  id: string;
  name: string;
  rateLimitPerMinute: number;
  limits: KeyLimits;
  /** Milliseconds since the epoch, or null. */
  expiresAt: number | null;
  /** The key's model allow-list (glob patterns), or null for every model. */
  allowedModels: string[] | null;
  /** The client addresses the key may be used from, or null for anywhere. */
  allowedIps: IpAllowList | null;
  /** The most output tokens a request may ask for (larger asks are clamped), or null. */
  maxOutputTokens: number | null;
  /** The customer the key belongs to: a request must fit its limits too. */
  customer: CustomerOfKey | null;
  /** Seconds its deterministic answers are kept in the response cache, or null (only requests that ask). */
  cacheTtlS: number | null;
}

export interface CustomerOfKey {
  id: string;
  name: string;
  rateLimitPerMinute: number | null;
  /** The customer's own limits (a subject of the counters), or null when it has none. */
  limits: KeyLimits | null;
  /** A prepaid customer's balance as a budget over all time whose limit is the sum of its credits. */
  balance: KeyLimits | null;
}

export type VerifyResult =
  | { ok: true; key: VerifiedKey }
  | { ok: false; reason: "not_found" }
  /** A real key that may not be used now: its id and name are known (for the access log), never more. */
  | { ok: false; reason: "disabled" | "expired" | "customer_disabled"; id: string; name: string };

export interface KeyVerifierOptions {
  /** Where key rows come from (and are cached): the SQLite or the PostgreSQL one. */
  rows: KeyRowSource;
  secret: string;
  /** Injected so tests can count bcrypt runs. */
  bcryptVerify?: (plain: string, hash: string) => Promise<boolean>;
  clock?: () => number;
}

/** A key row as the verifier reads it: the current value of a key, or the previous value of a rotated one. */
export interface KeyRow {
  id: string;
  name: string;
  key_hash: string;
  rate_limit_per_minute: number;
  is_active: number | boolean;
  budget_nano_usd: number | null;
  budget_period: string;
  tpm_limit: number | null;
  max_parallel: number | null;
  expires_at: number | null;
  allowed_models: string | null;
  deleted_at: number | null;
  allowed_ips: string | null;
  max_output_tokens: number | null;
  cache_ttl_s: number | null;
  /** The key's customer (null columns when it has none). */
  customer_id: string | null;
  customer_name: string | null;
  customer_active: number | boolean | null;
  customer_rpm: number | null;
  customer_tpm: number | null;
  customer_parallel: number | null;
  customer_budget: number | null;
  customer_budget_period: string | null;
  customer_prepaid: number | boolean | null;
  customer_version: number | null;
  customer_credits: number | null;
  /** 1 when the presented key is the previous value of a rotated key. */
  previous: number;
  previous_valid_until: number | null;
}

/**
 * Key rows by lookup digest, cached so that verified keys cost no query, yet a change made anywhere
 * (the CLI, the admin API, a direct UPDATE) is seen on the next request. Synchronous when it can be.
 */
export interface KeyRowSource {
  read(lookup: string): KeyRow | null | Promise<KeyRow | null>;
  /** Keys were changed through this process's own connection. */
  forget(): void;
}

/** Cached rows: at most this many (then the cache starts over); unknown keys are never cached. */
export const MAX_CACHED_KEYS = 100_000;

/**
 * Per-request key check. The row comes from the source (cached until something changes keys); bcrypt
 * runs at most once per key and hash per process, and never for a key whose digest matches no row.
 */
export function createKeyVerifier({ rows, secret, bcryptVerify = defaultVerify, clock = Date.now }: KeyVerifierOptions) {
  // lookup digest -> the bcrypt outcome for the hash it was checked against. Bounded by the number of keys.
  // `settled` lets the hot path skip awaiting a promise once bcrypt has answered.
  const verified = new Map<string, { hash: string; ok: Promise<boolean>; settled?: boolean }>();

  // The request path's view of each cached row, built once per row read.
  const shaped = new WeakMap<KeyRow, VerifiedKey>();

  function outcome(row: KeyRow, bcryptOk: boolean): VerifyResult {
    const now = clock();
    if (!bcryptOk || row.deleted_at !== null) return { ok: false, reason: "not_found" };
    if (row.previous && (row.previous_valid_until === null || row.previous_valid_until <= now)) return { ok: false, reason: "not_found" };
    if (!row.is_active) return { ok: false, reason: "disabled", id: row.id, name: row.name };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: "expired", id: row.id, name: row.name };
    if (row.customer_id !== null && !row.customer_active) return { ok: false, reason: "customer_disabled", id: row.id, name: row.name };
    let key = shaped.get(row);
    if (!key) shaped.set(row, (key = toVerifiedKey(row)));
    return { ok: true, key };
  }

  /** Synchronous when the key was verified before (the common case); a promise only while bcrypt runs. */
  function verify(plainKey: string): VerifyResult | Promise<VerifyResult> {
    const lookup = lookupDigest(secret, plainKey);
    const row = rows.read(lookup);
    return row instanceof Promise ? row.then((r) => check(plainKey, lookup, r)) : check(plainKey, lookup, row);
  }

  function check(plainKey: string, lookup: string, row: KeyRow | null): VerifyResult | Promise<VerifyResult> {
    if (!row) return { ok: false, reason: "not_found" };
    let entry = verified.get(lookup);
    if (!entry || entry.hash !== row.key_hash) {
      const fresh: { hash: string; ok: Promise<boolean>; settled?: boolean } = {
        hash: row.key_hash,
        ok: bcryptVerify(plainKey, row.key_hash).catch(() => false),
      };
      fresh.ok = fresh.ok.then((ok) => {
        fresh.settled = ok;
        return ok;
      });
      verified.set(lookup, (entry = fresh));
    }
    if (entry.settled !== undefined) return outcome(row, entry.settled);
    return entry.ok.then((ok) => outcome(row, ok));
  }
  /** Forgets cached rows: keys were changed through this process's own connection. */
  verify.invalidate = () => rows.forget();
  return verify;
}

export type KeyVerifier = ReturnType<typeof createKeyVerifier>;

/** A row as the request path uses it; a hand-edited budget_period that is not a period counts as "month". */
function toVerifiedKey(row: KeyRow): VerifiedKey {
  return {
    id: row.id,
    name: row.name,
    rateLimitPerMinute: row.rate_limit_per_minute,
    limits: {
      keyId: row.id,
      tpmLimit: row.tpm_limit,
      maxParallel: row.max_parallel,
      budgetNanoUsd: row.budget_nano_usd,
      budgetPeriod: isBudgetPeriod(row.budget_period) ? row.budget_period : "month",
    },
    expiresAt: row.expires_at,
    allowedModels: parseModelList(row.allowed_models),
    allowedIps: parseIpList(row.allowed_ips),
    maxOutputTokens: row.max_output_tokens,
    cacheTtlS: row.cache_ttl_s,
    customer: customerOf(row),
  };
}

function customerOf(row: KeyRow): CustomerOfKey | null {
  if (row.customer_id === null || row.customer_name === null) return null;
  const version = row.customer_version ?? 0;
  const limits: KeyLimits = {
    keyId: customerSubject(row.customer_id, version),
    tpmLimit: row.customer_tpm,
    maxParallel: row.customer_parallel,
    budgetNanoUsd: row.customer_budget,
    budgetPeriod: isBudgetPeriod(row.customer_budget_period) ? row.customer_budget_period : "month",
  };
  return {
    id: row.customer_id,
    name: row.customer_name,
    rateLimitPerMinute: row.customer_rpm,
    limits: hasLimits(limits) ? limits : null,
    balance: row.customer_prepaid
      ? { keyId: balanceSubject(row.customer_id, version), tpmLimit: null, maxParallel: null, budgetNanoUsd: Number(row.customer_credits ?? 0), budgetPeriod: "total" }
      : null,
  };
}

function defaultVerify(plain: string, hash: string): Promise<boolean> {
  return Bun.password.verify(plain, hash, "bcrypt");
}
