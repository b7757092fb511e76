// What a key looks like to the admin (CLI --json, admin API) and what settings a create or update takes,
// validated into the row's columns.
import type { ApiKey } from "./store.ts";
import { UserError } from "../errors.ts";
import { parseModelList } from "../admission/allow-list.ts";
import { parseIpList, validateIpList } from "../admission/ip-allow-list.ts";
import { formatUsd, parseUsd } from "../admission/money.ts";
import { BUDGET_PERIODS, isBudgetPeriod, type BudgetPeriod } from "../admission/periods.ts";
import { validateCacheTtl, validateExpiry, validateModelList, validatePositiveInt, validateRateLimit } from "./validate.ts";

/** What may be shown of a key (CLI --json and admin API): never the plain key, hash or lookup digest. */
export interface KeyInfo {
  id: string;
  name: string;
  rate_limit_per_minute: number;
  is_active: boolean;
  /** Spend limit per period in US dollars (decimal string, exact), or null. */
  budget_usd: string | null;
  budget_period: BudgetPeriod;
  tpm_limit: number | null;
  max_parallel: number | null;
  expires_at: string | null;
  allowed_models: string[] | null;
  /** CIDR blocks the key may be used from, or null for anywhere. */
  allowed_ips: string[] | null;
  /** The most output tokens a request may ask for, or null. */
  max_output_tokens: number | null;
  /** Seconds the key's deterministic answers stay in the response cache, or null. */
  cache_ttl_s: number | null;
  /** The key value's last 4 characters, shown as "…Ab3x" (null for keys made before hints existed). */
  hint: string | null;
  /** The customer the key belongs to (name), or null. */
  customer: string | null;
  /** Spent in the current budget period (US dollars); for a key without a budget, this calendar month. */
  spent_usd: string;
  /** The key's latest recorded request, or null. */
  last_used_at: string | null;
  /** When the current budget period ends (null without a budget, or for a `total` budget). */
  budget_resets_at: string | null;
  created_at: string;
  updated_at: string;
  /** Only for deleted keys (list --all). */
  deleted_at?: string;
}

/** Settings every create and update accepts; undefined leaves a setting alone, null clears it. */
export interface KeySettings {
  rateLimitPerMinute?: unknown;
  budgetUsd?: unknown;
  budgetPeriod?: unknown;
  tpmLimit?: unknown;
  maxParallel?: unknown;
  expiresAt?: unknown;
  allowedModels?: unknown;
  allowedIps?: unknown;
  maxOutputTokens?: unknown;
  /** The response cache's TTL for the key: seconds (API), or a duration such as 1h (CLI); null: off. */
  cacheTtl?: unknown;
  /** The customer's name or id; null takes the key out of its customer. */
  customer?: unknown;
}

export interface CreateKeyInput extends KeySettings {
  name: unknown;
  /** Omitted: a random key is generated. */
  key?: unknown;
}

export interface KeyPatch extends KeySettings {
  name?: unknown;
  isActive?: unknown;
}

/** What is kept of a key's value to recognise it: its last 4 characters. */
export const hintOf = (plain: string) => plain.slice(-4);

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A key as shown, with what it spent in the current period (nano-dollars) and when it was last used. */
export function toKeyInfo(row: ApiKey, spent: { nano: number; resetsAt: number | null }, lastUsed: number | null, customer: string | null = null): KeyInfo {
  return {
    id: row.id,
    name: row.name,
    rate_limit_per_minute: row.rateLimitPerMinute,
    is_active: row.isActive,
    budget_usd: row.budgetNanoUsd === null ? null : formatUsd(row.budgetNanoUsd),
    budget_period: isBudgetPeriod(row.budgetPeriod) ? row.budgetPeriod : "month",
    tpm_limit: row.tpmLimit,
    max_parallel: row.maxParallel,
    expires_at: iso(row.expiresAt),
    allowed_models: parseModelList(row.allowedModels),
    allowed_ips: parseIpList(row.allowedIps)?.blocks ?? null,
    max_output_tokens: row.maxOutputTokens,
    cache_ttl_s: row.cacheTtlS,
    hint: row.hint === null ? null : `…${row.hint}`,
    customer,
    spent_usd: formatUsd(spent.nano),
    budget_resets_at: row.budgetNanoUsd === null ? null : iso(spent.resetsAt),
    last_used_at: iso(lastUsed),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    ...(row.deletedAt === null ? {} : { deleted_at: new Date(row.deletedAt).toISOString() }),
  };
}

/** The limits keys and customers both have (tokens per minute, in flight, budget and its period), validated. */
export function limitChanges(s: Pick<KeySettings, "tpmLimit" | "maxParallel" | "budgetUsd" | "budgetPeriod">) {
  const c: { tpmLimit?: number | null; maxParallel?: number | null; budgetNanoUsd?: number | null; budgetPeriod?: BudgetPeriod } = {};
  if (s.budgetUsd !== undefined) c.budgetNanoUsd = s.budgetUsd === null ? null : parseUsd(s.budgetUsd);
  if (s.budgetPeriod !== undefined) {
    if (!isBudgetPeriod(s.budgetPeriod)) throw new UserError(`budget period must be one of ${BUDGET_PERIODS.join(", ")}, got '${String(s.budgetPeriod)}'`);
    c.budgetPeriod = s.budgetPeriod;
  }
  if (s.tpmLimit !== undefined) c.tpmLimit = s.tpmLimit === null ? null : validatePositiveInt(s.tpmLimit, "tokens per minute");
  if (s.maxParallel !== undefined) c.maxParallel = s.maxParallel === null ? null : validatePositiveInt(s.maxParallel, "max parallel requests", 100_000);
  return c;
}

/** The columns a settings object changes, validated; undefined fields are left out. */
export function settingsChanges(s: KeySettings, now: number): Partial<ApiKey> {
  const c: Partial<ApiKey> = limitChanges(s);
  if (s.rateLimitPerMinute !== undefined) c.rateLimitPerMinute = validateRateLimit(s.rateLimitPerMinute);
  if (s.expiresAt !== undefined) c.expiresAt = s.expiresAt === null ? null : validateExpiry(s.expiresAt, now);
  if (s.allowedModels !== undefined) c.allowedModels = s.allowedModels === null ? null : validateModelList(s.allowedModels);
  if (s.allowedIps !== undefined) c.allowedIps = s.allowedIps === null ? null : validateIpList(s.allowedIps);
  if (s.maxOutputTokens !== undefined) c.maxOutputTokens = s.maxOutputTokens === null ? null : validatePositiveInt(s.maxOutputTokens, "max output tokens", 10_000_000);
  if (s.cacheTtl !== undefined) c.cacheTtlS = s.cacheTtl === null ? null : validateCacheTtl(s.cacheTtl);
  return c;
}

