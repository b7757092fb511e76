// The response cache in SQLite: one row per cache key with its expiry. A write also drops what expired
// and, past the size cap, the oldest entries (one statement: a running sum of sizes, newest first).
import type { CachedAnswer, ResponseCacheStore } from "../../cache/store.ts";
import type { Db } from "./client.ts";

export function sqliteResponseCache(db: Db, retryWrites: <T>(fn: () => T) => Promise<T>): ResponseCacheStore {
  const sqlite = db.$client;
  const read = sqlite.query<{ value: string }, [string, number]>("SELECT value FROM response_cache WHERE key = ? AND expires_at > ?");
  const write = sqlite.prepare<unknown, [string, number, number, number, string]>(
    `INSERT INTO response_cache (key, created_at, expires_at, bytes, value) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at, bytes = excluded.bytes, value = excluded.value`,
  );
  const expire = sqlite.prepare<unknown, [number]>("DELETE FROM response_cache WHERE expires_at <= ?");
  const evict = sqlite.prepare<unknown, [number]>(
    `DELETE FROM response_cache WHERE key IN (
       SELECT key FROM (SELECT key, sum(bytes) OVER (ORDER BY created_at DESC, key DESC) AS running FROM response_cache) WHERE running > ?)`,
  );
  const put = sqlite.transaction((key: string, value: string, expiresAt: number, now: number, capBytes: number) => {
    write.run(key, now, expiresAt, Buffer.byteLength(value), value);
    expire.run(now);
    evict.run(capBytes);
  });
  return {
    get(key, now) {
      const row = read.get(key, now);
      return row ? (JSON.parse(row.value) as CachedAnswer) : undefined;
    },
    put: async (key, answer, expiresAt, now, capBytes) => void (await retryWrites(() => put.immediate(key, JSON.stringify(answer), expiresAt, now, capBytes))),
  };
}
