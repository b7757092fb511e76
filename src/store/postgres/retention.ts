import type { SQL } from "bun";
import { createFaultLog } from "../../fault-log.ts";
import { repeat } from "../../usage/repeat.ts";
import { DAY_MS } from "../../usage/time-range.ts";

export interface PgRetentionOptions {
  sql: SQL;
  days: number;
  clock?: () => number;
  intervalMs?: number;
  /** Rows per DELETE: short statements, no long lock on the table. */
  batch?: number;
  log?: (line: string) => void;
}

/**
 * Deletes raw usage rows older than `days` (the daily roll-ups, updated with the rows, keep their sums).
 * Every instance may run it; concurrent deletes of the same rows are harmless.
 */
export function startPgRetentionJob({ sql, days, clock = Date.now, intervalMs = 60_000, batch = 5000, log = console.error }: PgRetentionOptions) {
  const faults = createFaultLog("usage retention", log);
  return repeat(async () => {
    try {
      const before = clock() - days * DAY_MS;
      for (;;) {
        const deleted = (await sql`DELETE FROM usage WHERE id IN (SELECT id FROM usage WHERE created_at < ${before} ORDER BY id LIMIT ${batch})`).count;
        if (deleted < batch) break;
      }
      await sql`DELETE FROM response_items WHERE created_at < ${before}`;
      faults.ok();
    } catch (err) {
      faults.failed((err as Error).message.split("\n")[0]!);
    }
  }, intervalMs);
}
