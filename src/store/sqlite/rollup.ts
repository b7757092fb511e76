// SQLite's daily roll-ups: the three upserts, the writer's fold from memory, and the background job that
// folds what other processes wrote.
import type { Database } from "bun:sqlite";
import { createFaultLog } from "../../fault-log.ts";
import { isBusy } from "./client.ts";
import { repeat } from "../../usage/repeat.ts";
import { foldDeltas, sortedDeltas, SUMS, type Delta, type DeltaGroups } from "../../usage/rollup.ts";

interface PendingRow {
  id: number;
  key_id: string;
  model_requested: string;
  prompt_tokens: number;
  completion_tokens: number;
  cost_nano_usd: number | null;
  estimated: number;
  cache_hit: number;
  saved_nano_usd: number | null;
  created_at: number;
}

function upsert(sqlite: Database, table: string, keys: string[]) {
  const cols = [...keys, ...SUMS];
  return sqlite.prepare(
    `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})
     ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
  );
}

/** The three roll-up upserts, applying deltas in their (day, key, model) order. */
export function createRollupUpserts(sqlite: Database) {
  const perKeyModel = upsert(sqlite, "usage_daily", ["day", "key_id", "model"]);
  const perKey = upsert(sqlite, "usage_daily_key", ["day", "key_id"]);
  const perModel = upsert(sqlite, "usage_daily_model", ["day", "model"]);
  return (deltas: Delta[]): void => {
    for (const d of deltas) {
      perKeyModel.run(d.day, d.keyId, d.model, ...d.sums);
      perKey.run(d.day, d.keyId, ...d.sums);
      perModel.run(d.day, d.model, ...d.sums);
    }
  };
}

/**
 * Folds the sums of rows the caller wrote (ids firstId..lastId), from memory, inside the caller's
 * transaction: only when the watermark stands right below `firstId` (nothing older waits to be folded),
 * in which case it moves to `lastId` in that same transaction. Otherwise (a backlog, another writer's
 * rows in between) it does nothing, and the background job folds them from the table.
 */
export function createMemoryFold(sqlite: Database) {
  const apply = createRollupUpserts(sqlite);
  const advance = sqlite.prepare<unknown, [number, number]>("UPDATE rollup_state SET last_usage_id = ? WHERE id = 1 AND last_usage_id = ?");
  return (firstId: number, lastId: number, deltas: DeltaGroups): void => {
    if (advance.run(lastId, firstId - 1).changes === 1) apply(sortedDeltas(deltas));
  };
}

/**
 * Folds usage rows above the watermark into the three daily roll-ups, at most `batch` rows per
 * transaction, and advances the watermark in that same transaction: a crash can never count a row
 * twice or lose it. Returns a function that performs one step and says how many rows it folded.
 */
export function createRollupStep(sqlite: Database, batch = 5000) {
  const pending = sqlite.prepare<PendingRow, [number]>(
    `SELECT id, key_id, model_requested, prompt_tokens, completion_tokens, cost_nano_usd, estimated, cache_hit, saved_nano_usd, created_at
     FROM usage WHERE id > (SELECT last_usage_id FROM rollup_state WHERE id = 1) ORDER BY id LIMIT ?`,
  );
  const apply = createRollupUpserts(sqlite);
  const advance = sqlite.prepare<unknown, [number]>("UPDATE rollup_state SET last_usage_id = ? WHERE id = 1");
  // Usually nothing is above the watermark (the server's writer folds its own rows): no write transaction then.
  const behind = sqlite.prepare<{ n: number }, []>("SELECT EXISTS (SELECT 1 FROM usage WHERE id > (SELECT last_usage_id FROM rollup_state WHERE id = 1)) AS n");

  const step = sqlite.transaction((): number => {
    const rows = pending.all(batch);
    apply(
      foldDeltas(
        rows.map((r) => ({ createdAt: r.created_at, keyId: r.key_id, model: r.model_requested, promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, costNanoUsd: r.cost_nano_usd, estimated: r.estimated, cacheHit: r.cache_hit, savedNanoUsd: r.saved_nano_usd })),
      ),
    );
    if (rows.length > 0) advance.run(rows.at(-1)!.id);
    return rows.length;
  });
  return () => (behind.get()!.n === 0 ? 0 : step.immediate());
}

export interface RollupJobOptions {
  sqlite: Database;
  intervalMs?: number;
  /** How long the watermark must stand still before the job folds rows itself. */
  stillMs?: number;
  /** Rows per transaction: small steps keep each pause of the event loop well under a millisecond. */
  batch?: number;
  log?: (line: string) => void;
}

/**
 * Runs roll-up steps in the background every `intervalMs` until caught up, yielding to requests between
 * steps: rows written by other processes, rows behind a gap, and a server's last rows once its traffic
 * stops. While the watermark moves (the server's writer folds its own rows every 250 ms) the job keeps
 * out of the way: folding those rows from the table would only make the writer's own fold fail. It
 * steps in once the watermark has stood still for `stillMs`.
 */
export function startRollupJob({ sqlite, intervalMs = 250, stillMs = 1000, batch = 250, log = console.error }: RollupJobOptions) {
  const step = createRollupStep(sqlite, batch);
  const watermark = sqlite.prepare<{ w: number }, []>("SELECT last_usage_id AS w FROM rollup_state WHERE id = 1");
  let seen: number | undefined;
  let seenAt = 0;
  const faults = createFaultLog("roll-up step", log);
  return repeat(async () => {
    try {
      const w = watermark.get()?.w;
      if (w !== seen) {
        seen = w;
        seenAt = performance.now();
      }
      if (performance.now() - seenAt < stillMs) return;
      // Yield between steps so requests keep flowing while a backlog is folded.
      while (step() === batch) await new Promise((r) => setImmediate(r));
      faults.ok();
    } catch (err) {
      if (!isBusy(err)) faults.failed((err as Error).message);
    }
  }, intervalMs);
}
