import type { ApiKey } from "./store.ts";
import type { CustomerStore } from "../customers/store.ts";
import { ConflictError, GoneError, NotFoundError, UserError } from "../errors.ts";
import { hashToken, openShare, sealShare } from "./share.ts";
import { UniqueViolation, type KeyStore } from "./store.ts";
import { lookupDigest } from "./secret.ts";
import { isBudgetPeriod, periodBounds } from "../admission/periods.ts";
import { generateKey, parseDuration, validateName, validatePlainKey } from "./validate.ts";
import { hintOf, iso, settingsChanges, toKeyInfo, type CreateKeyInput, type KeyInfo, type KeyPatch, type KeySettings } from "./key-info.ts";

export interface KeyServiceOptions {
  store: KeyStore;
  secret: string;
  clock?: () => number;
  bcryptCost?: number;
  /** The admin tokens: a customer key may never equal one. */
  adminTokens?: string[];
  /** Called after every change to a key (the server's verifier forgets what it cached). */
  onChange?: () => void;
  /** Where `customer` names are looked up (absent: keys cannot be given a customer). */
  customers?: CustomerStore;
  /** The origin of one-time hand-over links (GATEWAY_PUBLIC_URL, else the listen address). */
  publicUrl?: string | (() => string);
  /** Who makes the changes, for the audit log, unless a call names someone (the admin API names the admin). */
  actor?: string;
}

/** A new key value as given back: the key itself, or a one-time link to it (`share`). */
export type NewValue = { key: string } | { claim_url: string; claim_expires_at: string };

/** The longest a hand-over link may stay open. */
const MAX_SHARE_MS = 30 * 86_400_000;

/**
 * Key administration shared by the CLI and the admin HTTP API, over either store. Every method (and
 * `ready`) refuses a secret other than the one the database's keys were digested with.
 */
export function createKeyService({ store, secret, clock = Date.now, bcryptCost = 10, adminTokens = [], onChange, customers, publicUrl = "http://localhost:8080", actor = "unknown" }: KeyServiceOptions) {
  /** The key to show, or (`share`: a duration such as 24h) a one-time link to it. */
  async function handOver(plain: string, keyId: string, share: unknown): Promise<NewValue> {
    if (share === undefined || share === null) return { key: plain };
    const ttl = typeof share === "string" ? parseDuration(share) : null;
    if (ttl === null || ttl <= 0 || ttl > MAX_SHARE_MS) throw new UserError(`share must be a duration of at most 30d such as 24h or 30m, got '${String(share)}'`);
    const now = clock();
    const { token, share: row } = sealShare(plain, keyId, ttl, now);
    await store.insertShare(row);
    const origin = typeof publicUrl === "function" ? publicUrl() : publicUrl;
    return { claim_url: `${origin.replace(/\/+$/, "")}/claim/${token}`, claim_expires_at: new Date(row.expiresAt).toISOString() };
  }

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
    if (adminTokens.includes(plain)) throw new UserError("a customer key must not equal the admin token");
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

    async create(input: CreateKeyInput & { share?: unknown; by?: string }): Promise<KeyInfo & NewValue> {
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
        cacheTtlS: null,
        ...settings,
      };
      await write(store.insert(row, input.by ?? actor), `a key named '${name}' or with this value already exists`);
      return { ...(await info(row)), ...(await handOver(value.key, row.id, input.share)) };
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

    async update(nameOrId: string, patch: KeyPatch, by = actor): Promise<KeyInfo> {
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
      await write(store.update(row.id, { ...changes, updatedAt: updated.updatedAt }, by), `a key named '${String(changes.name)}' already exists`);
      return info(updated);
    },

    /**
     * A new value for the key (same id: usage, budget and limits carry over). The old value keeps
     * working for `graceMs` (0: refused at once).
     */
    async rotate(nameOrId: string, { key, graceMs = 0, share, by = actor }: { key?: unknown; graceMs?: number; share?: unknown; by?: string } = {}): Promise<KeyInfo & NewValue & { previous_valid_until: string | null }> {
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
      await write(store.update(row.id, changes, by), "another key already has this value; choose a different key");
      return { ...(await info({ ...row, ...changes })), ...(await handOver(value.key, row.id, share)), previous_valid_until: iso(changes.previousValidUntil ?? null) };
    },

    /** Where a hand-over link stands, without using it up. */
    async shareState(token: string): Promise<"open" | "unknown" | "claimed" | "expired"> {
      return /^[A-Za-z0-9_-]{43}$/.test(token) ? store.shareState(hashToken(token), clock()) : "unknown";
    },

    /** Opens a hand-over link once: the key and its name; 410 once used or expired, 404 for no such link. */
    async claim(token: string, from: string | null): Promise<{ key: string; name: string }> {
      const found = /^[A-Za-z0-9_-]{43}$/.test(token) ? await store.claimShare(hashToken(token), clock(), from) : ({ ok: false, reason: "unknown" } as const);
      if (!found.ok) {
        if (found.reason === "unknown") throw new NotFoundError("No such key link.");
        throw new GoneError(found.reason === "claimed" ? "This key link was already opened: a key is shown only once. Ask the operator for a new one." : "This key link has expired. Ask the operator for a new one.");
      }
      const [row] = await store.find(found.share.keyId);
      return { key: openShare(token, found.share.sealed!), name: row?.name ?? "" };
    },

    /** The key stops working at once and leaves the listings; its usage rows and reports stay. */
    async delete(nameOrId: string, by = actor): Promise<KeyInfo> {
      await ready;
      const row = await find(nameOrId);
      const now = clock();
      const changes: Partial<ApiKey> = { deletedAt: now, isActive: false, previousLookup: null, previousKeyHash: null, previousValidUntil: null, updatedAt: now };
      await write(store.update(row.id, changes, by), "conflict");
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
