// SQLite's usage reads: the report and a key's spend since a time.
import type { Statement } from "bun:sqlite";
import type { Db } from "./client.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { type RawRow, type UsageReport, type ReportDialect, type ReportQuery, reportQuery, shapeReport } from "../../usage/analytics.ts";

/**
 * Usage report. Whole UTC days come from a daily roll-up plus the few rows not yet folded into it; the
 * partial days at either end of the range come from the raw rows. Any instant range is exact, and a
 * 30-day report reads at most 30 roll-up rows per group instead of every request.
 */
export function usageReport(db: Db, q: ReportQuery): UsageReport {
  // One read transaction: the watermark, the roll-ups and the rows above it come from one snapshot.
  return db.$client
    .transaction(() => {
      const { sql, params } = reportQuery(q, SQLITE_SQL, watermark(db));
      return shapeReport(q, db.$client.query<RawRow, (string | number)[]>(sql).all(...params));
    })
    .deferred();
}

function watermark(db: Db): number {
  return (db.$client.query("SELECT last_usage_id AS id FROM rollup_state WHERE id = 1").get() as { id: number } | null)?.id ?? 0;
}

// total() rather than sum(): sum() raises "integer overflow" past 2^63 (rows stored before usage was
// checked could get there), total() cannot; both are exact below 2^53, beyond which JSON is not anyway.
export const SQLITE_SQL: ReportDialect = { sum: (e) => `total(${e})`, flag: (e) => `(${e})` };

/** Exact spend of one key from `from` on (rows and roll-ups, one snapshot): what a budget period has used. */
const spendQueries = new WeakMap<Db, { folded: Statement<{ n: number }, [string, number]>; recent: Statement<{ n: number }, [number, string, number]> }>();

/**
 * A key's spend since `from` (a budget period's start: a UTC midnight), exact: the days folded into the
 * roll-up (its (key_id, day) index), plus the rows above the watermark (a few: found by id, the `+`
 * keeps SQLite off the key's index, which would visit every row of the period), in one snapshot. Read on
 * every request of a budgeted key when several instances share it, so it must stay this small.
 */
export function spentSince(db: Db, keyId: string, from: number): number {
  let q = spendQueries.get(db);
  if (!q) {
    q = {
      folded: db.$client.query("SELECT coalesce(sum(cost_nano_usd), 0) AS n FROM usage_daily WHERE key_id = ? AND day >= ?"),
      recent: db.$client.query("SELECT coalesce(sum(cost_nano_usd), 0) AS n FROM usage WHERE id > ? AND +key_id = ? AND +created_at >= ?"),
    };
    spendQueries.set(db, q);
  }
  const { folded, recent } = q;
  return db.$client
    .transaction(() => folded.get(keyId, Math.floor(from / DAY_MS))!.n + recent.get(watermark(db), keyId, from)!.n)
    .deferred();
}
