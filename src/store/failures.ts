// The failures table in both dialects: counts added by upsert (several instances add to the same minute),
// read per hour for the last day, and pruned after FAILURES_KEPT_MS.
import type { SQL } from "bun";
import type { Db } from "./sqlite/client.ts";
import type { FailureCount } from "../observe/failures.ts";
import { numbered } from "./postgres/sql-text.ts";
import { buildFailures, failuresSince, type FailureSeries } from "../dashboard/failures.ts";

const HOUR = 3_600_000;
/** Failure counts older than this are deleted when new ones are written. */
const FAILURES_KEPT_MS = 90 * 86_400_000;
const UPSERT = "INSERT INTO failures (minute, kind, provider, count) VALUES (?, ?, ?, ?) ON CONFLICT (minute, kind, provider) DO UPDATE SET count = failures.count + excluded.count";
const BY_HOUR = `SELECT minute - (minute % ${HOUR}) AS hour, kind, sum(count) AS n FROM failures WHERE minute >= ? GROUP BY 1, 2`;

export function sqliteFailures(db: Db) {
  const upsert = db.$client.prepare(UPSERT);
  const prune = db.$client.prepare("DELETE FROM failures WHERE minute < ?");
  const read = db.$client.prepare<{ hour: number; kind: string; n: number }, [number]>(BY_HOUR);
  return {
    add(rows: FailureCount[]): void {
      db.$client.transaction(() => {
        for (const r of rows) upsert.run(r.minute, r.kind, r.provider, r.count);
        prune.run(rows[0]!.minute - FAILURES_KEPT_MS);
      })();
    },
    recent(now: number): FailureSeries {
      return buildFailures(read.all(failuresSince(now)), now);
    },
  };
}

export function pgFailures(sql: SQL) {
  return {
    async add(rows: FailureCount[]): Promise<void> {
      await sql.begin(async (tx) => {
        for (const r of rows) await tx.unsafe(numbered(UPSERT), [r.minute, r.kind, r.provider, r.count]);
        await tx.unsafe("DELETE FROM failures WHERE minute < $1", [rows[0]!.minute - FAILURES_KEPT_MS]);
      });
    },
    async recent(now: number): Promise<FailureSeries> {
      const rows = (await sql.unsafe(numbered(BY_HOUR), [failuresSince(now)])) as { hour: string | number; kind: string; n: string | number }[];
      return buildFailures(rows.map((r) => ({ hour: Number(r.hour), kind: r.kind, n: Number(r.n) })), now);
    },
  };
}
