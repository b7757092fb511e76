import type { ApiKey } from "./store.ts";
import type { CustomerStore } from "../customers/store.ts";
import { ConflictError, NotFoundError, UserError } from "../errors.ts";
import { UniqueViolation, type KeyStore } from "./store.ts";
import { lookupDigest } from "./secret.ts";
import { parseModelList } from "../admission/allow-list.ts";
import { parseIpList, validateIpList } from "../admission/ip-allow-list.ts";
import { formatUsd, parseUsd } from "../admission/money.ts";
import { BUDGET_PERIODS, isBudgetPeriod, periodBounds, type BudgetPeriod } from "../admission/periods.ts";
import { generateKey, validateExpiry, validateModelList, validateName, validatePlainKey, validatePositiveInt, validateRateLimit } from "./validate.ts";

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

export interface KeyServiceOptions {
  store: KeyStore;
  secret: string;
  clock?: () => number;
  bcryptCost?: number;
  /** The admin token: a customer key may never equal it. */
  adminToken?: string;
  /** Called after every change to a key (the server's verifier forgets what it cached). */
  onChange?: () => void;
  /** Where `customer` names are looked up (absent: keys cannot be given a customer). */
  customers?: CustomerStore;
}

/** What is kept of a key's value to recognise it: its last 4 characters. */
const hintOf = (plain: string) => plain.slice(-4);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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

/** The columns a settings object changes, validated; undefined fields are left out. */
function settingsChanges(s: KeySettings, now: number): Partial<ApiKey> {
  const c: Partial<ApiKey> = {};
  if (s.rateLimitPerMinute !== undefined) c.rateLimitPerMinute = validateRateLimit(s.rateLimitPerMinute);
  if (s.budgetUsd !== undefined) c.budgetNanoUsd = s.budgetUsd === null ? null : parseUsd(s.budgetUsd);
  if (s.budgetPeriod !== undefined) {
    if (!isBudgetPeriod(s.budgetPeriod)) throw new UserError(`budget period must be one of ${BUDGET_PERIODS.join(", ")}, got '${String(s.budgetPeriod)}'`);
    c.budgetPeriod = s.budgetPeriod;
  }
  if (s.tpmLimit !== undefined) c.tpmLimit = s.tpmLimit === null ? null : validatePositiveInt(s.tpmLimit, "tokens per minute");
  if (s.maxParallel !== undefined) c.maxParallel = s.maxParallel === null ? null : validatePositiveInt(s.maxParallel, "max parallel requests", 100_000);
  if (s.expiresAt !== undefined) c.expiresAt = s.expiresAt === null ? null : validateExpiry(s.expiresAt, now);
  if (s.allowedModels !== undefined) c.allowedModels = s.allowedModels === null ? null : validateModelList(s.allowedModels);
  if (s.allowedIps !== undefined) c.allowedIps = s.allowedIps === null ? null : validateIpList(s.allowedIps);
  if (s.maxOutputTokens !== undefined) c.maxOutputTokens = s.maxOutputTokens === null ? null : validatePositiveInt(s.maxOutputTokens, "max output tokens", 10_000_000);
  return c;
}

/**
 * Key administration shared by the CLI and the admin HTTP API, over either store. Every method (and
 * `ready`) refuses a secret other than the one the database's keys were digested with.
 */
export function createKeyService({ store, secret, clock = Date.now, bcryptCost = 10, adminToken, onChange, customers }: KeyServiceOptions) {
  const ready = checkSecret(store, secret);
  ready.catch(() => {}); // surfaced by whichever call awaits it first

  /** A key by id or name; deleted keys only when asked (they cannot be changed, only listed). */
  async function find(nameOrId: string, { deleted = false } = {}): Promise<ApiKey> {
    const rows = await store.find(nameOrId);
    // An id match wins over a name that happens to equal another key's id.
    const hit = rows.find((r) => r.id === nameOrId) ?? rows[0];
    if (!hit || (hit.deletedAt !== null && !deleted)) throw new NotFoundError(`no key named or with id '${nameOrId}'`);
    return hit;
  }

  /** The key as shown, with its spend in the current budget period (a key without one: this month) read from the rows. */
  async function info(row: ApiKey): Promise<KeyInfo> {
    const now = clock();
    const period = row.budgetNanoUsd !== null && isBudgetPeriod(row.budgetPeriod) ? row.budgetPeriod : "month";
    const { start, end } = periodBounds(period, now);
    const [nano, lastUsed, customer] = await Promise.all([store.spentSince(row.id, start), store.lastUsed(row.id), row.customerId === null ? undefined : customers?.find(row.customerId)]);
    return toKeyInfo(row, { nano, resetsAt: end }, lastUsed, customer?.name ?? null);
  }

  /** The column changes of the settings, the customer looked up by name or id. */
  async function changesOf(s: KeySettings, now: number): Promise<Partial<ApiKey>> {
    const c = settingsChanges(s, now);
    if (s.customer === null) c.customerId = null;
    else if (s.customer !== undefined) {
      const found = typeof s.customer === "string" && customers ? await customers.find(s.customer) : undefined;
      if (!found) throw new NotFoundError(`no customer named or with id '${String(s.customer)}' (create it with: gateway create-customer NAME)`);
      c.customerId = found.id;
    }
    return c;
  }

  async function assertNameFree(name: string, exceptId?: string): Promise<void> {
    const other = await store.nameOwner(name);
    if (other && other.id !== exceptId) {
      throw new ConflictError(other.deletedAt === null ? `a key named '${name}' already exists` : `a deleted key is still named '${name}' (its usage keeps the name); choose another name`);
    }
  }

  /** A validated new key value: its lookup digest is free and it is not the admin token. */
  async function newValue(key: unknown): Promise<{ key: string; lookup: string; keyHash: string }> {
    const plain = key === undefined ? generateKey() : validatePlainKey(key);
    if (adminToken !== undefined && plain === adminToken) throw new UserError("a customer key must not equal the admin token");
    const lookup = lookupDigest(secret, plain);
    if (await store.valueTaken(lookup)) throw new ConflictError("another key already has this value; choose a different key");
    return { key: plain, lookup, keyHash: await Bun.password.hash(plain, { algorithm: "bcrypt", cost: bcryptCost }) };
  }

  async function write(done: Promise<void>, conflict: string): Promise<void> {
    try {
      await done;
    } catch (err) {
      // Lost a race with a concurrent change: report it like the checks above would have.
      if (err instanceof UniqueViolation) throw new ConflictError(conflict);
      throw err;
    }
    onChange?.();
  }

  return {
    /** Resolves once the secret is checked against the database; rejects with the mismatch. */
    ready,

    async create(input: CreateKeyInput): Promise<KeyInfo & { key: string }> {
      await ready;
      const name = validateName(input.name);
      const now = clock();
      const settings = await changesOf({ ...input, rateLimitPerMinute: input.rateLimitPerMinute ?? 60 }, now);
      await assertNameFree(name);
      const value = await newValue(input.key);
      const row: ApiKey = {
        id: crypto.randomUUID(),
        name,
        keyHash: value.keyHash,
        lookup: value.lookup,
        rateLimitPerMinute: 60,
        isActive: true,
        createdAt: now,
        updatedAt: now,
        budgetNanoUsd: null,
        budgetPeriod: "month",
        tpmLimit: null,
        maxParallel: null,
        expiresAt: null,
        allowedModels: null,
        deletedAt: null,
        previousLookup: null,
        previousKeyHash: null,
        previousValidUntil: null,
        hint: hintOf(value.key),
        allowedIps: null,
        maxOutputTokens: null,
        customerId: null,
        ...settings,
      };
      await write(store.insert(row), `a key named '${name}' or with this value already exists`);
      return { ...(await info(row)), key: value.key };
    },

    /** Keys not deleted (`all`: those too); `hint`: only those whose value ends with it ("Ab3x", "…Ab3x"). */
    async list({ all = false, hint }: { all?: boolean; hint?: string } = {}): Promise<KeyInfo[]> {
      await ready;
      const last4 = hint?.trim().replace(/^(…|\.\.\.)/, "");
      if (last4 !== undefined && !/^[\x21-\x7e]{4}$/.test(last4)) throw new UserError(`a hint is the last 4 characters of a key, such as Ab3x, got '${hint}'`);
      const rows = (await store.list()).filter((r) => (all || r.deletedAt === null) && (last4 === undefined || r.hint === last4));
      return Promise.all(rows.map(info));
    },

    async get(nameOrId: string): Promise<KeyInfo> {
      await ready;
      return info(await find(nameOrId));
    },

    async update(nameOrId: string, patch: KeyPatch): Promise<KeyInfo> {
      await ready;
      const row = await find(nameOrId);
      const changes = await changesOf(patch, clock());
      if (patch.name !== undefined) {
        changes.name = validateName(patch.name);
        await assertNameFree(changes.name, row.id);
      }
      if (patch.isActive !== undefined) {
        if (typeof patch.isActive !== "boolean") throw new UserError("is_active must be true or false");
        changes.isActive = patch.isActive;
      }
      if (Object.keys(changes).length === 0) throw new UserError("nothing to change: give at least one setting to change");
      const updated = { ...row, ...changes, updatedAt: clock() };
      await write(store.update(row.id, { ...changes, updatedAt: updated.updatedAt }), `a key named '${String(changes.name)}' already exists`);
      return info(updated);
    },

    /**
     * A new value for the key (same id: usage, budget and limits carry over). The old value keeps
     * working for `graceMs` (0: refused at once).
     */
    async rotate(nameOrId: string, { key, graceMs = 0 }: { key?: unknown; graceMs?: number } = {}): Promise<KeyInfo & { key: string; previous_valid_until: string | null }> {
      await ready;
      const row = await find(nameOrId);
      const value = await newValue(key);
      const now = clock();
      const grace = graceMs > 0;
      const changes: Partial<ApiKey> = {
        lookup: value.lookup,
        keyHash: value.keyHash,
        previousLookup: grace ? row.lookup : null,
        previousKeyHash: grace ? row.keyHash : null,
        previousValidUntil: grace ? now + graceMs : null,
        hint: hintOf(value.key),
        updatedAt: now,
      };
      await write(store.update(row.id, changes), "another key already has this value; choose a different key");
      return { ...(await info({ ...row, ...changes })), key: value.key, previous_valid_until: iso(changes.previousValidUntil ?? null) };
    },

    /** The key stops working at once and leaves the listings; its usage rows and reports stay. */
    async delete(nameOrId: string): Promise<KeyInfo> {
      await ready;
      const row = await find(nameOrId);
      const now = clock();
      const changes: Partial<ApiKey> = { deletedAt: now, isActive: false, previousLookup: null, previousKeyHash: null, previousValidUntil: null, updatedAt: now };
      await write(store.update(row.id, changes), "conflict");
      return info({ ...row, ...changes });
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;

/**
 * Refuses to run with a secret other than the one the database's keys were digested with:
 * otherwise every key would silently stop matching.
 */
async function checkSecret(store: KeyStore, secret: string): Promise<void> {
  const fingerprint = lookupDigest(secret, "gateway lookup secret fingerprint");
  if ((await store.claimSecret(fingerprint)) !== fingerprint) throw secretMismatch();
}

function secretMismatch(): UserError {
  return new UserError(
    "the lookup secret (GATEWAY_SECRET or the .secret file beside the database) is not the one this database was created with; restore it from your backup",
  );
}
