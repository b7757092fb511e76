import type { SQL } from "bun";
import { ApiError } from "../../errors.ts";
import { MAX_CACHED_KEYS, type KeyRow, type KeyRowSource } from "../../keys/verifier.ts";
import { keyRowSql } from "../key-row-sql.ts";
import { describePgError } from "./client.ts";

/** The channel the api_keys trigger notifies (migrations/postgres/0001_key_change_notify.sql). */
export const KEYS_CHANNEL = "gateway_keys";

export interface PgKeyRowsOptions {
  sql: SQL;
  /** How often the subscription proves it is alive (a ping through the database to itself). */
  heartbeatMs?: number;
  log?: (line: string) => void;
}

const NUMERIC = ["budget_nano_usd", "expires_at", "deleted_at", "previous_valid_until", "customer_budget", "customer_credits"] as const;

/**
 * Key rows from PostgreSQL, cached while this process LISTENs to the api_keys trigger's channel: any
 * change anywhere (another instance, the CLI, `UPDATE api_keys` in psql) empties the cache of every
 * instance. Notifications are lost while the listening connection is down, so the cache is only used
 * while a heartbeat sent through the database keeps coming back; otherwise every request reads its row.
 */
export function pgKeyRows({ sql, heartbeatMs = 1000, log = console.error }: PgKeyRowsOptions): KeyRowSource & { ready: Promise<void>; stop(): Promise<void> } {
  const cache = new Map<string, KeyRow>();
  // Bumped by every clear: a row read before a change notification must not be cached after it.
  let generation = 0;
  const forgetAll = () => {
    generation++;
    cache.clear();
  };
  const ping = `ping:${crypto.randomUUID()}`;
  let lastPong = 0;
  let trusted = false;
  let stopped = false;
  const query = keyRowSql("$1");

  const subscription = sql.listen(
    KEYS_CHANNEL,
    (payload) => {
      if (payload === ping) lastPong = Date.now();
      else if (!payload.startsWith("ping:")) forgetAll();
    },
    () => {
      // (Re)subscribed: whatever changed while the connection was down was not heard.
      forgetAll();
      lastPong = Date.now();
    },
  );
  const beat = setInterval(() => {
    sql`SELECT pg_notify(${KEYS_CHANNEL}, ${ping})`.catch(() => {});
  }, heartbeatMs);
  beat.unref();

  function cacheUsable(): boolean {
    const alive = Date.now() - lastPong < heartbeatMs * 2.5;
    if (alive !== trusted) {
      trusted = alive;
      forgetAll();
      if (!stopped) log(alive ? "[gateway] key change notifications from PostgreSQL: listening" : "[gateway] key change notifications from PostgreSQL are not arriving: every request reads its key row until they do");
    }
    return alive;
  }

  return {
    ready: subscription.then(() => undefined),
    read(lookup) {
      const usable = cacheUsable();
      if (usable) {
        const cached = cache.get(lookup);
        if (cached) return cached;
      }
      const asked = generation;
      return (sql.unsafe(query, [lookup]) as Promise<Record<string, unknown>[]>).then(
        ([found]) => {
          if (!found) return null;
          for (const c of NUMERIC) if (found[c] !== null) found[c] = Number(found[c]);
          const row = found as unknown as KeyRow;
          if (usable && asked === generation) {
            if (cache.size >= MAX_CACHED_KEYS) cache.clear();
            cache.set(lookup, row);
          }
          return row;
        },
        (err) => {
          throw new ApiError(503, `The gateway cannot reach its database to check the key: ${describePgError(err)}. Try again shortly.`, "server_error", "database_unavailable");
        },
      );
    },
    forget: forgetAll,
    async stop() {
      stopped = true;
      clearInterval(beat);
      await (await subscription).unlisten().catch(() => {});
    },
  };
}
