// SQLite's usage writer: rows of one event-loop turn in one transaction, folded into the roll-ups from memory.
import { describeSqliteError, isBusy, probeWrite, type Db } from "./client.ts";
import type { StorageHealth } from "../../usage/health.ts";
import { createGroupCommit } from "../../usage/group-commit.ts";
import { addDeltas, copyDeltas, type DeltaGroups, type FoldRow } from "../../usage/rollup.ts";
import { createMemoryFold } from "./rollup.ts";
import { USAGE_COLUMNS, usageValues, type UsageRecord, type UsageRecorder } from "../../usage/record.ts";

export interface UsageRecorderOptions {
  db: Db;
  health: StorageHealth;
  /** How long rows may wait for another process's write lock before their requests get a 503. */
  busyTimeoutMs: number;
  /** Rows per transaction: a few hundred keeps one flush well under a millisecond or two. */
  maxBatch?: number;
  /** While writes fail, how often a one-row probe checks whether they work again. */
  probeIntervalMs?: number;
  log?: (line: string) => void;
  /** After each group commit: its rows and how long it took. */
  onCommit?: (rows: number, seconds: number) => void;
  /**
   * True when no other request is in flight: nobody could share the commit, so the row is committed as
   * soon as the current task yields instead of after the event loop's next turn.
   */
  alone?: () => boolean;
  /** Asked before every commit (cheaply: no syscall): why the database file cannot take rows now (deleted, replaced), or null. */
  checkFile?: () => string | null;
}

/**
 * SQLite's usage recorder: the group-commit queue (usage/group-commit.ts) over this connection's writer.
 * Rows recorded during one event-loop turn are written in one transaction right after it (a lone
 * request's row at once). The connection must have busy_timeout 0: a held lock is waited for by the
 * queue, asynchronously, up to `busyTimeoutMs`.
 */
export function createUsageRecorder({ db, health, busyTimeoutMs, maxBatch = 256, probeIntervalMs = 1000, log = console.error, onCommit, alone, checkFile }: UsageRecorderOptions): UsageRecorder {
  const writeRows = createUsageWriter(db);
  return createGroupCommit(
    {
      write: (rows) => writeRows.immediate(rows),
      kind: (err) => (isBusy(err) ? "busy" : isStorageFault(err) ? "fault" : "row"),
      describe: describeSqliteError,
      probe: () => probeWrite(db.$client),
      unavailable: checkFile,
    },
    { health, maxBatch, probeIntervalMs, busyTimeoutMs, log, onCommit, alone },
  );
}

/** Faults of the storage itself (disk full, read-only, I/O, file gone), as opposed to one bad row. */
function isStorageFault(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  return !(code.startsWith("SQLITE_CONSTRAINT") || code === "SQLITE_MISMATCH" || code === "SQLITE_TOOBIG" || code === "SQLITE_RANGE");
}

export interface UsageWriterOptions {
  /**
   * Rows this writer committed are folded into the daily roll-ups from memory, in the first transaction
   * at least this long after the previous fold (one set of upserts per interval, not per commit, and the
   * rows are never read back). Infinity leaves them all to the roll-up job.
   */
  foldEveryMs?: number;
  clock?: () => number;
}

/** Inserts usage rows in one transaction (`immediate(rows)`), folding what it wrote into the roll-ups now and then. */
export function createUsageWriter(db: Db, { foldEveryMs = 250, clock = Date.now }: UsageWriterOptions = {}) {
  const insert = db.$client.prepare(`INSERT INTO usage (${USAGE_COLUMNS.join(", ")}) VALUES (${USAGE_COLUMNS.map(() => "?").join(", ")})`);
  const watermark = db.$client.prepare<{ w: number }, []>("SELECT last_usage_id AS w FROM rollup_state WHERE id = 1");
  const insertItem = db.$client.prepare("INSERT OR IGNORE INTO response_items (item_id, key_id, tokens, created_at) VALUES (?, ?, ?, ?)");
  const fold = createMemoryFold(db.$client);
  // The sums of the rows between the watermark and the last commit (ids unfoldedFirst..unfoldedLast), when
  // they are all this writer's. Changed only after a commit succeeded: a rolled-back transaction leaves
  // them as they were.
  let unfolded: DeltaGroups = new Map();
  let unfoldedFirst = 0;
  let unfoldedLast = 0;
  let foldedAt = -Infinity;
  const write = db.$client.transaction((rows: UsageRecord[], now: number) => {
    const w = watermark.get()?.w ?? 0;
    let firstId = 0;
    let lastId = 0;
    for (const r of rows) {
      lastId = Number(insert.run(...usageValues(r, (b) => (b ? 1 : 0))).lastInsertRowid);
      firstId ||= lastId;
      if (r.itemIds) for (const id of r.itemIds) insertItem.run(id, r.keyId, r.completionTokens, r.createdAt);
    }
    // "extend": the sums in memory are exactly the rows from the watermark up to this commit's; "fresh":
    // nothing waits below this commit; otherwise (the job folded ours, another writer's rows are in
    // between) the rows are left to the roll-up job.
    const base = unfolded.size > 0 && unfoldedFirst === w + 1 && firstId === unfoldedLast + 1 ? "extend" : firstId === w + 1 ? "fresh" : "none";
    const due = rows.length > 0 && base !== "none" && now - foldedAt >= foldEveryMs;
    if (due) fold(base === "extend" ? unfoldedFirst : firstId, lastId, addDeltas(base === "extend" ? copyDeltas(unfolded) : new Map(), rows.map(foldRow)));
    return { firstId, lastId, base, due };
  });
  return {
    immediate(rows: UsageRecord[]): void {
      const now = clock();
      const r = write.immediate(rows, now);
      if (rows.length === 0) return;
      if (r.due) foldedAt = now;
      if (r.due || r.base === "none") return void (unfolded = new Map());
      if (r.base === "fresh") {
        unfolded = new Map();
        unfoldedFirst = r.firstId;
      }
      addDeltas(unfolded, rows.map(foldRow));
      unfoldedLast = r.lastId;
    },
  };
}

function foldRow(r: UsageRecord): FoldRow {
  return { createdAt: r.createdAt, keyId: r.keyId, model: r.modelRequested, promptTokens: r.promptTokens, completionTokens: r.completionTokens, costNanoUsd: r.costNanoUsd, estimated: r.estimated };
}
