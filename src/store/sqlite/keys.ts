import { eq, or } from "drizzle-orm";
import { isBusy, writeUnique, type Db } from "./client.ts";
import type { ApiKey } from "../../keys/store.ts";
import { apiKeys, keyShares, meta } from "./schema.ts";
import type { Claim } from "../../keys/share.ts";
import { spentSince } from "./reports.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import type { KeyStore } from "../../keys/store.ts";

const SECRET_CHECK = "lookup_secret_check";

/** The key store of the embedded SQLite database (synchronous underneath). */
export function sqliteKeyStore(db: Db): KeyStore {
  const write = writeUnique;
  const fingerprint = () => db.select().from(meta).where(eq(meta.key, SECRET_CHECK)).get()?.value;
  return {
    find: async (nameOrId) => db.select().from(apiKeys).where(or(eq(apiKeys.id, nameOrId), eq(apiKeys.name, nameOrId))).all(),
    nameOwner: async (name) => db.select({ id: apiKeys.id, deletedAt: apiKeys.deletedAt }).from(apiKeys).where(eq(apiKeys.name, name)).get(),
    valueTaken: async (lookup) => db.$client.query("SELECT 1 FROM api_keys WHERE lookup = ?1 OR previous_lookup = ?1").get(lookup) !== null,
    insert: async (row: ApiKey, by) => write(() => db.insert(apiKeys).values({ ...row, auditActor: by }).run()),
    update: async (id, changes, by) => write(() => db.update(apiKeys).set({ ...changes, auditActor: by }).where(eq(apiKeys.id, id)).run()),
    list: async () => db.select().from(apiKeys).orderBy(apiKeys.createdAt, apiKeys.name).all(),
    spentSince: async (keyId, from) => spentSince(db, keyId, from),
    async lastUsed(keyId) {
      const row = db.$client
        .query<{ at: number | null }, [string, string]>(`SELECT coalesce((SELECT max(created_at) FROM usage WHERE key_id = ?1), (SELECT max(day) * ${DAY_MS} FROM usage_daily WHERE key_id = ?2)) AS at`)
        .get(keyId, keyId);
      return row?.at ?? null;
    },
    async claimSecret(value) {
      const stored = fingerprint();
      if (stored !== undefined) return stored;
      try {
        db.insert(meta).values({ key: SECRET_CHECK, value }).onConflictDoNothing().run();
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
      return fingerprint() ?? value;
    },
    secretInUse: async () => sqliteSecretInUse(db),
    insertShare: async (share) => void db.insert(keyShares).values(share).run(),
    async shareState(tokenHash, now) {
      const s = db.select().from(keyShares).where(eq(keyShares.tokenHash, tokenHash)).get();
      return !s ? "unknown" : s.claimedAt !== null || s.sealed === null ? "claimed" : s.expiresAt <= now ? "expired" : "open";
    },
    claimShare: async (tokenHash, now, from) =>
      db.$client
        .transaction((): Claim => {
          const share = db.select().from(keyShares).where(eq(keyShares.tokenHash, tokenHash)).get();
          if (!share) return { ok: false, reason: "unknown" };
          if (share.claimedAt !== null || share.sealed === null) return { ok: false, reason: "claimed" };
          if (share.expiresAt <= now) {
            db.update(keyShares).set({ sealed: null }).where(eq(keyShares.tokenHash, tokenHash)).run();
            return { ok: false, reason: "expired" };
          }
          db.update(keyShares).set({ claimedAt: now, claimedFrom: from, sealed: null }).where(eq(keyShares.tokenHash, tokenHash)).run();
          return { ok: true, share };
        })
        .immediate(),
  };
}

/** True once the database has keys or a secret fingerprint: a new secret can no longer be made up for it. */
export function sqliteSecretInUse(db: Db): boolean {
  return db.$client.query("SELECT 1 FROM api_keys UNION ALL SELECT 1 FROM meta WHERE key = ? LIMIT 1").get(SECRET_CHECK) !== null;
}
