import type { Db } from "../db/client.ts";
import { lookupDigest } from "./secret.ts";

export interface VerifiedKey {
  id: string;
  name: string;
  rateLimitPerMinute: number;
}

export type VerifyResult =
  | { ok: true; key: VerifiedKey }
  | { ok: false; reason: "not_found" | "disabled" };

export interface KeyVerifierOptions {
  db: Db;
  secret: string;
  /** Injected so tests can count bcrypt runs. */
  bcryptVerify?: (plain: string, hash: string) => Promise<boolean>;
}

interface Row {
  id: string;
  name: string;
  key_hash: string;
  rate_limit_per_minute: number;
  is_active: number;
}

/**
 * Per-request key check. The row is found by its HMAC lookup digest (one indexed read, so a CLI
 * disable or re-limit is seen on the next request); bcrypt runs at most once per key and hash per
 * process, and never for a key whose digest matches no row.
 */
export function createKeyVerifier({ db, secret, bcryptVerify = defaultVerify }: KeyVerifierOptions) {
  const byLookup = db.$client.query<Row, [string]>(
    "SELECT id, name, key_hash, rate_limit_per_minute, is_active FROM api_keys WHERE lookup = ?",
  );
  // Rows read since the database last changed. PRAGMA data_version changes whenever another connection
  // (the CLI, a sqlite3 shell's UPDATE, another server) commits, so such a change is still seen on the
  // next request; changes made through this connection (the admin API) call invalidate().
  const dataVersion = db.$client.query<{ data_version: number }, []>("PRAGMA data_version");
  let seenVersion = -1;
  const rows = new Map<string, Row | null>();
  const MAX_CACHED = 100_000;
  function read(lookup: string): Row | null {
    const version = dataVersion.get()!.data_version;
    if (version !== seenVersion) {
      rows.clear();
      seenVersion = version;
    }
    let row = rows.get(lookup);
    if (row === undefined) {
      row = byLookup.get(lookup);
      // Unknown keys are not remembered: a flood of random keys must not grow memory.
      if (row) {
        if (rows.size >= MAX_CACHED) rows.clear();
        rows.set(lookup, row);
      }
    }
    return row ?? null;
  }
  // lookup digest -> the bcrypt outcome for the hash it was checked against. Bounded by the number of keys.
  // `settled` lets the hot path skip awaiting a promise once bcrypt has answered.
  const verified = new Map<string, { hash: string; ok: Promise<boolean>; settled?: boolean }>();

  function outcome(row: Row, bcryptOk: boolean): VerifyResult {
    if (!bcryptOk) return { ok: false, reason: "not_found" };
    if (!row.is_active) return { ok: false, reason: "disabled" };
    return { ok: true, key: { id: row.id, name: row.name, rateLimitPerMinute: row.rate_limit_per_minute } };
  }

  /** Synchronous when the key was verified before (the common case); a promise only while bcrypt runs. */
  function verify(plainKey: string): VerifyResult | Promise<VerifyResult> {
    const lookup = lookupDigest(secret, plainKey);
    const row = read(lookup);
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
  verify.invalidate = () => rows.clear();
  return verify;
}

export type KeyVerifier = ReturnType<typeof createKeyVerifier>;

function defaultVerify(plain: string, hash: string): Promise<boolean> {
  return Bun.password.verify(plain, hash, "bcrypt");
}
