import type { SQL } from "bun";
import type { StorageHealth } from "../../usage/health.ts";
import { createGroupCommit } from "../../usage/group-commit.ts";
import { USAGE_COLUMNS, usageValues, type UsageRecord, type UsageRecorder } from "../../usage/record.ts";
import { foldDeltas, SUMS, type Delta } from "../../usage/rollup.ts";
import { describePgError } from "./client.ts";

export interface PgRecorderOptions {
  sql: SQL;
  health: StorageHealth;
  /** Rows per transaction. */
  maxBatch?: number;
  /** While writes fail, how often a one-row probe checks whether they work again. */
  probeIntervalMs?: number;
  log?: (line: string) => void;
  onCommit?: (rows: number, seconds: number) => void;
}

/** `rows` rows of `width` placeholders, numbered from `offset` + 1. */
function placeholders(rows: number, width: number, offset: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: width }, (_, c) => `$${offset + r * width + c + 1}`).join(", ")})`);
  return out.join(", ");
}

/** Sums of one grain, merged by its key columns (a statement may not touch one row twice), in key order. */
function regroup(deltas: Delta[], keyOf: (d: Delta) => unknown[]): { keys: unknown[]; sums: number[] }[] {
  const merged = new Map<string, { keys: unknown[]; sums: number[] }>();
  for (const d of deltas) {
    const keys = keyOf(d);
    const id = keys.join("\u0000");
    const m = merged.get(id);
    if (!m) merged.set(id, { keys, sums: [...d.sums] });
    else for (let i = 0; i < 6; i++) m.sums[i]! += d.sums[i]!;
  }
  return [...merged.values()].sort((a, b) => compareKeys(a.keys, b.keys));
}

function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number | string) < (b[i] as number | string) ? -1 : 1;
  return 0;
}

/**
 * Inserts rows and adds them to the three roll-ups in one statement (one round trip, one transaction:
 * the roll-ups always equal the rows). Every instance locks roll-up rows in the same (day, key, model)
 * order, so concurrent commits cannot deadlock.
 */
export async function writeUsageRows(sql: SQL, rows: UsageRecord[]): Promise<void> {
  const deltas = foldDeltas(rows.map((r) => ({ ...r, model: r.modelRequested })));
  const params: unknown[] = rows.flatMap((r) => usageValues(r, (b) => b));
  const parts = [`rows AS (INSERT INTO usage (${USAGE_COLUMNS.join(", ")}) VALUES ${placeholders(rows.length, USAGE_COLUMNS.length, 0)} RETURNING 1)`];
  const grains: [string, string[], (d: Delta) => unknown[]][] = [
    ["usage_daily", ["day", "key_id", "model"], (d) => [d.day, d.keyId, d.model]],
    ["usage_daily_key", ["day", "key_id"], (d) => [d.day, d.keyId]],
    ["usage_daily_model", ["day", "model"], (d) => [d.day, d.model]],
  ];
  for (const [table, keys, keyOf] of grains) {
    const groups = regroup(deltas, keyOf);
    const cols = [...keys, ...SUMS];
    const offset = params.length;
    for (const g of groups) params.push(...g.keys, ...g.sums);
    parts.push(
      `${table} AS (INSERT INTO ${table} (${cols.join(", ")}) VALUES ${placeholders(groups.length, cols.length, offset)}
       ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${SUMS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", ")})`,
    );
  }
  const items = rows.flatMap((r) => (r.itemIds ?? []).map((id) => [id, r.keyId, r.completionTokens, r.createdAt]));
  if (items.length > 0) {
    const offset = params.length;
    for (const i of items) params.push(...i);
    parts.push(`items AS (INSERT INTO response_items (item_id, key_id, tokens, created_at) VALUES ${placeholders(items.length, 4, offset)} ON CONFLICT (item_id) DO NOTHING)`);
  }
  await sql.unsafe(`WITH ${parts.join(",\n")} SELECT count(*) FROM rows`, params);
}

/**
 * PostgreSQL's usage recorder: the group-commit queue (usage/group-commit.ts) over writeUsageRows. Rows
 * recorded while the previous transaction is in flight go together in the next.
 */
export function createPgUsageRecorder({ sql, health, maxBatch = 500, probeIntervalMs = 1000, log = console.error, onCommit }: PgRecorderOptions): UsageRecorder {
  return createGroupCommit(
    {
      write: (rows) => writeUsageRows(sql, rows),
      kind: () => "fault",
      describe: (err) => `PostgreSQL did not take the usage rows: ${describePgError(err)}`,
      probe: async () => void (await sql`SELECT 1`),
      recovered: "[gateway] PostgreSQL takes usage rows again",
    },
    { health, maxBatch, probeIntervalMs, log, onCommit },
  );
}
