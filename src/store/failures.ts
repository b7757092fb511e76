// The failures table in both dialects: counts added by upsert (several instances add to the same minute),
// read per hour for the last day, and pruned after FAILURES_KEPT_MS.
import type { SQL } from "bun";
import type { Database } from "bun:sqlite";
import type { Db } from "./sqlite/client.ts";
import type { FailureCount } from "../observe/failures.ts";
import { numbered } from "./postgres/sql-text.ts";
import { buildFailures, failuresSince, type FailureSeries } from "../dashboard/failures.ts";

const HOUR = 3_600_000;
/** Failure counts older than this are deleted when new ones are written. */
const FAILURES_KEPT_MS = 90 * 86_400_000;
const UPSERT = "INSERT INTO failures (minute, kind, provider, count) VALUES (?, ?, ?, ?) ON CONFLICT (minute, kind, provider) DO UPDATE SET count = failures.count + excluded.count";
const BY_HOUR = `SELECT minute - (minute % ${HOUR}) AS hour, kind, sum(count) AS n FROM failures WHERE minute >= ? GROUP BY 1, 2`;

/** The writes (the SQLite writer's thread makes them while serving). */
export function failureStatements(sqlite: Database) {
  const upsert = sqlite.prepare(UPSERT);
  const prune = sqlite.prepare("DELETE FROM failures WHERE minute < ?");
  return {
    add(rows: FailureCount[]): void {
      // IMMEDIATE: the write lock is waited for (busy_timeout) up front, never refused mid-transaction.
      sqlite.transaction(() => {
        for (const r of rows) upsert.run(r.minute, r.kind, r.provider, r.count);
        prune.run(rows[0]!.minute - FAILURES_KEPT_MS);
      }).immediate();
    },
  };
}

export function sqliteFailures(db: Db) {
  const read = db.$client.prepare<{ hour: number; kind: string; n: number }, [number]>(BY_HOUR);
  return {
    add: failureStatements(db.$client).add,
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
