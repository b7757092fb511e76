// Usage retention: raw rows older than the configured number of days are deleted in small batches,
// once the roll-ups hold them (reports of whole past days stay exact). SQLite reuses the freed pages,
// so the file stops growing.
import { createFaultLog } from "../../fault-log.ts";
import type { Database } from "bun:sqlite";
import { isBusy } from "./client.ts";
import { DAY_MS } from "../../usage/time-range.ts";

export interface RetentionOptions {
  sqlite: Database;
  days: number;
  clock?: () => number;
  /** Rows per delete: a few hundred keep each pause of the event loop to a millisecond or two. */
  batch?: number;
  intervalMs?: number;
  log?: (line: string) => void;
  /** After each pass: how many rows it deleted. */
  onPruned?: (rows: number) => void;
}

/**
 * Deletes up to `batch` expired rows and returns how many. Only rows already folded into the roll-ups
 * (id at or below the watermark) and never the newest row: ids are not AUTOINCREMENT, and deleting the
 * largest one would let the next insert reuse an id below the watermark.
 */
export function createRetentionStep(sqlite: Database, batch = 500) {
  const prune = sqlite.prepare<unknown, [number, number]>(
    `DELETE FROM usage WHERE id IN (
       SELECT id FROM usage
       WHERE created_at < ? AND id <= (SELECT last_usage_id FROM rollup_state WHERE id = 1) AND id < (SELECT max(id) FROM usage)
       LIMIT ?)`,
  );
  // The Responses API's output items of those days go too (a reference to one is then refused, as the provider's own storage expires).
  const pruneItems = sqlite.prepare<unknown, [number, number]>("DELETE FROM response_items WHERE item_id IN (SELECT item_id FROM response_items WHERE created_at < ? LIMIT ?)");
  return (cutoff: number): number => Math.max(prune.run(cutoff, batch).changes, pruneItems.run(cutoff, batch).changes);
}

export function startRetentionJob({ sqlite, days, clock = Date.now, batch = 500, intervalMs = 60_000, log = console.error, onPruned }: RetentionOptions) {
  const step = createRetentionStep(sqlite, batch);
  let timer: Timer | undefined;
  let stopped = false;
  const faults = createFaultLog("usage retention", log);
  const pass = async () => {
    let total = 0;
    try {
      // One batch per event-loop turn: requests are served between batches.
      for (let n = batch; n === batch && !stopped; total += n) {
        n = step(clock() - days * DAY_MS);
        await Bun.sleep(0);
      }
      faults.ok();
    } catch (err) {
      if (!isBusy(err)) faults.failed((err as Error).message);
    }
    onPruned?.(total);
    if (!stopped) timer = setTimeout(pass, intervalMs);
  };
  timer = setTimeout(pass, Math.min(intervalMs, 1000));
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
