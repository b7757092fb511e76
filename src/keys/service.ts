import { eq, or } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { isBusy } from "../db/client.ts";
import { apiKeys, meta, type ApiKey } from "../db/schema.ts";
import { ConflictError, NotFoundError, UserError } from "../errors.ts";
import { lookupDigest } from "./secret.ts";
import { generateKey, validateName, validatePlainKey, validateRateLimit } from "./validate.ts";

/** What may be shown of a key (CLI --json and admin API): never the plain key, hash or lookup digest. */
export interface KeyInfo {
  id: string;
  name: string;
  rate_limit_per_minute: number;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

export interface CreateKeyInput {
  name: unknown;
  /** Omitted: a random key is generated. */
  key?: unknown;
  rateLimitPerMinute?: unknown;
}

export interface KeyPatch {
  name?: unknown;
  rateLimitPerMinute?: unknown;
  isActive?: unknown;
}

export interface KeyServiceOptions {
  db: Db;
  secret: string;
  clock?: () => number;
  bcryptCost?: number;
  /** The admin token: a customer key may never equal it. */
  adminToken?: string;
  /** Called after every change to a key (the server's verifier forgets what it cached). */
  onChange?: () => void;
}

const SECRET_CHECK = "lookup_secret_check";

export function toKeyInfo(row: ApiKey): KeyInfo {
  return {
    id: row.id,
    name: row.name,
    rate_limit_per_minute: row.rateLimitPerMinute,
    is_active: row.isActive,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

/** Key administration shared by the CLI and the admin HTTP API. */
export function createKeyService({ db, secret, clock = Date.now, bcryptCost = 10, adminToken, onChange }: KeyServiceOptions) {
  checkSecret(db, secret);

  function find(nameOrId: string): ApiKey {
    const row = db.select().from(apiKeys).where(or(eq(apiKeys.id, nameOrId), eq(apiKeys.name, nameOrId))).all();
    // An id match wins over a name that happens to equal another key's id.
    const hit = row.find((r) => r.id === nameOrId) ?? row[0];
    if (!hit) throw new NotFoundError(`no key named or with id '${nameOrId}'`);
    return hit;
  }

  function assertNameFree(name: string, exceptId?: string): void {
    const other = db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.name, name)).get();
    if (other && other.id !== exceptId) throw new ConflictError(`a key named '${name}' already exists`);
  }

  return {
    async create(input: CreateKeyInput): Promise<KeyInfo & { key: string }> {
      const name = validateName(input.name);
      const key = input.key === undefined ? generateKey() : validatePlainKey(input.key);
      if (adminToken !== undefined && key === adminToken) throw new UserError("a customer key must not equal the admin token");
      const rateLimitPerMinute = validateRateLimit(input.rateLimitPerMinute ?? 60);
      assertNameFree(name);
      const lookup = lookupDigest(secret, key);
      if (db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.lookup, lookup)).get()) {
        throw new ConflictError("another key already has this value; choose a different key");
      }
      const keyHash = await Bun.password.hash(key, { algorithm: "bcrypt", cost: bcryptCost });
      const now = clock();
      const row: ApiKey = {
        id: crypto.randomUUID(),
        name,
        keyHash,
        lookup,
        rateLimitPerMinute,
        isActive: true,
        createdAt: now,
        updatedAt: now,
      };
      try {
        db.insert(apiKeys).values(row).run();
        onChange?.();
      } catch (err) {
        // Lost a race with a concurrent create: report it like the checks above would have.
        if (String((err as Error).message).includes("UNIQUE")) throw new ConflictError(`a key named '${name}' or with this value already exists`);
        throw err;
      }
      return { ...toKeyInfo(row), key };
    },

    list(): KeyInfo[] {
      return db.select().from(apiKeys).orderBy(apiKeys.createdAt, apiKeys.name).all().map(toKeyInfo);
    },

    get(nameOrId: string): KeyInfo {
      return toKeyInfo(find(nameOrId));
    },

    update(nameOrId: string, patch: KeyPatch): KeyInfo {
      const row = find(nameOrId);
      if (patch.name === undefined && patch.rateLimitPerMinute === undefined && patch.isActive === undefined) {
        throw new UserError("nothing to change: give name, rate_limit_per_minute or is_active");
      }
      const changes: Partial<ApiKey> = {};
      if (patch.name !== undefined) {
        changes.name = validateName(patch.name);
        assertNameFree(changes.name, row.id);
      }
      if (patch.rateLimitPerMinute !== undefined) changes.rateLimitPerMinute = validateRateLimit(patch.rateLimitPerMinute);
      if (patch.isActive !== undefined) {
        if (typeof patch.isActive !== "boolean") throw new UserError("is_active must be true or false");
        changes.isActive = patch.isActive;
      }
      const updated = { ...row, ...changes, updatedAt: clock() };
      db.update(apiKeys).set({ ...changes, updatedAt: updated.updatedAt }).where(eq(apiKeys.id, row.id)).run();
      onChange?.();
      return toKeyInfo(updated);
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;

/** True once the database has keys or a secret fingerprint: a new secret can no longer be made up for it. */
export function secretInUse(db: Db): boolean {
  return db.$client.query("SELECT 1 FROM api_keys UNION ALL SELECT 1 FROM meta WHERE key = ? LIMIT 1").get(SECRET_CHECK) !== null;
}

/**
 * Refuses to run with a secret other than the one the database's keys were digested with:
 * otherwise every key would silently stop matching.
 */
function checkSecret(db: Db, secret: string): void {
  const fingerprint = lookupDigest(secret, "gateway lookup secret fingerprint");
  const stored = db.select().from(meta).where(eq(meta.key, SECRET_CHECK)).get();
  if (!stored) {
    try {
      db.insert(meta).values({ key: SECRET_CHECK, value: fingerprint }).onConflictDoNothing().run();
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
    const now = db.select().from(meta).where(eq(meta.key, SECRET_CHECK)).get();
    if (now && now.value !== fingerprint) throw secretMismatch();
    return;
  }
  if (stored.value !== fingerprint) throw secretMismatch();
}

function secretMismatch(): UserError {
  return new UserError(
    "the lookup secret (GATEWAY_SECRET or the .secret file beside the database) is not the one this database was created with; restore it from your backup",
  );
}
