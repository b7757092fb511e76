import type { SQL } from "bun";
import type { ApiKey } from "../../keys/store.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { writeUnique } from "./client.ts";
import type { KeyStore } from "../../keys/store.ts";
import type { Claim } from "../../keys/share.ts";

const SECRET_CHECK = "lookup_secret_check";

/** Column of each ApiKey field. */
const COLUMN: Record<keyof ApiKey, string> = {
  id: "id",
  name: "name",
  keyHash: "key_hash",
  lookup: "lookup",
  rateLimitPerMinute: "rate_limit_per_minute",
  isActive: "is_active",
  createdAt: "created_at",
  updatedAt: "updated_at",
  budgetNanoUsd: "budget_nano_usd",
  budgetPeriod: "budget_period",
  tpmLimit: "tpm_limit",
  maxParallel: "max_parallel",
  expiresAt: "expires_at",
  allowedModels: "allowed_models",
  deletedAt: "deleted_at",
  previousLookup: "previous_lookup",
  previousKeyHash: "previous_key_hash",
  previousValidUntil: "previous_valid_until",
  hint: "hint",
  allowedIps: "allowed_ips",
  maxOutputTokens: "max_output_tokens",
  customerId: "customer_id",
  cacheTtlS: "cache_ttl_s",
};
const FIELDS = Object.keys(COLUMN) as (keyof ApiKey)[];
const SELECT = FIELDS.map((f) => `${COLUMN[f]} AS "${f}"`).join(", ");
// bigint columns arrive as strings.
const NUMERIC: (keyof ApiKey)[] = ["createdAt", "updatedAt", "budgetNanoUsd", "expiresAt", "deletedAt", "previousValidUntil"];

export function toApiKey(row: Record<string, unknown>): ApiKey {
  for (const f of NUMERIC) if (row[f] !== null && row[f] !== undefined) row[f] = Number(row[f]);
  return row as unknown as ApiKey;
}

/** The key store of a shared PostgreSQL database. */
export function pgKeyStore(sql: SQL): KeyStore {
  const write = writeUnique;
  const fingerprint = async () => ((await sql`SELECT value FROM meta WHERE key = ${SECRET_CHECK}`) as { value: string }[])[0]?.value;
  return {
    find: async (nameOrId) => ((await sql.unsafe(`SELECT ${SELECT} FROM api_keys WHERE id = $1 OR name = $1`, [nameOrId])) as Record<string, unknown>[]).map(toApiKey),
    async nameOwner(name) {
      const [row] = (await sql`SELECT id, deleted_at FROM api_keys WHERE name = ${name}`) as { id: string; deleted_at: string | null }[];
      return row && { id: row.id, deletedAt: row.deleted_at === null ? null : Number(row.deleted_at) };
    },
    valueTaken: async (lookup) => ((await sql`SELECT 1 FROM api_keys WHERE lookup = ${lookup} OR previous_lookup = ${lookup} LIMIT 1`) as unknown[]).length > 0,
    insert: (row, by) =>
      write(() => {
        const fields = FIELDS.filter((f) => row[f] !== undefined);
        return sql.unsafe(`INSERT INTO api_keys (${fields.map((f) => COLUMN[f]).join(", ")}, audit_actor) VALUES (${fields.map((_, i) => `$${i + 1}`).join(", ")}, $${fields.length + 1})`, [...fields.map((f) => row[f]), by]);
      }),
    update: (id, changes, by) =>
      write(() => {
        const fields = (Object.keys(changes) as (keyof ApiKey)[]).filter((f) => changes[f] !== undefined);
        return sql.unsafe(`UPDATE api_keys SET ${fields.map((f, i) => `${COLUMN[f]} = $${i + 3}`).join(", ")}, audit_actor = $2 WHERE id = $1`, [id, by, ...fields.map((f) => changes[f])]);
      }),
    list: async () => ((await sql.unsafe(`SELECT ${SELECT} FROM api_keys ORDER BY created_at, name`)) as Record<string, unknown>[]).map(toApiKey),
    spentSince: (keyId, from) => pgSpentSince(sql, keyId, from),
    async lastUsed(keyId) {
      const [row] = (await sql`SELECT coalesce((SELECT max(created_at) FROM usage WHERE key_id = ${keyId}), (SELECT max(day) * ${DAY_MS} FROM usage_daily WHERE key_id = ${keyId})) AS at`) as { at: string | number | null }[];
      return row?.at == null ? null : Number(row.at);
    },
    async claimSecret(value) {
      await sql`INSERT INTO meta (key, value) VALUES (${SECRET_CHECK}, ${value}) ON CONFLICT (key) DO NOTHING`;
      return (await fingerprint()) ?? value;
    },
    insertShare: async (s) =>
      void (await sql`INSERT INTO key_shares (token_hash, key_id, sealed, created_at, expires_at) VALUES (${s.tokenHash}, ${s.keyId}, ${s.sealed}, ${s.createdAt}, ${s.expiresAt})`),
    async shareState(tokenHash, now) {
      const [s] = (await sql`SELECT sealed, expires_at, claimed_at FROM key_shares WHERE token_hash = ${tokenHash}`) as Record<string, string | null>[];
      return !s ? "unknown" : s.claimed_at !== null || s.sealed === null ? "claimed" : Number(s.expires_at) <= now ? "expired" : "open";
    },
    claimShare: (tokenHash, now, from) =>
      sql.begin(async (tx): Promise<Claim> => {
        const [row] = (await tx`SELECT key_id, sealed, created_at, expires_at, claimed_at FROM key_shares WHERE token_hash = ${tokenHash} FOR UPDATE`) as Record<string, string | null>[];
        if (!row) return { ok: false, reason: "unknown" };
        if (row.claimed_at !== null || row.sealed === null) return { ok: false, reason: "claimed" };
        if (Number(row.expires_at) <= now) {
          await tx`UPDATE key_shares SET sealed = NULL WHERE token_hash = ${tokenHash}`;
          return { ok: false, reason: "expired" };
        }
        await tx`UPDATE key_shares SET claimed_at = ${now}, claimed_from = ${from}, sealed = NULL WHERE token_hash = ${tokenHash}`;
        return { ok: true, share: { tokenHash, keyId: row.key_id!, sealed: row.sealed ?? null, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at), claimedAt: null, claimedFrom: null } };
      }),
    secretInUse: async () => ((await sql`SELECT 1 FROM api_keys UNION ALL SELECT 1 FROM meta WHERE key = ${SECRET_CHECK} LIMIT 1`) as unknown[]).length > 0,
  };
}

/**
 * A key's exact spend since `from` (a UTC midnight): whole days from the roll-up (updated in the same
 * transaction as the rows), the rest of `from`'s day — none, since `from` is a midnight — so one
 * indexed read. A `from` that is not a midnight adds the rows of its partial day.
 */
export async function pgSpentSince(sql: SQL, keyId: string, from: number): Promise<number> {
  const firstDay = Math.ceil(from / DAY_MS);
  const [row] = (await sql`
    SELECT (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage_daily WHERE key_id = ${keyId} AND day >= ${firstDay})
         + (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage WHERE key_id = ${keyId} AND created_at >= ${from} AND created_at < ${firstDay * DAY_MS}) AS n`) as { n: string }[];
  return Number(row!.n);
}
