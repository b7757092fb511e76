// SQLite's usage recorder (the queue over the writer's thread) and the batch writer that thread runs: rows
// of one event-loop turn in one transaction, folded into the roll-ups from memory.
import type { Db } from "./client.ts";
import type { WriterThread } from "./writer.ts";
import { createGroupCommit, type GroupCommitOptions } from "../../usage/group-commit.ts";
import { addDeltas, copyDeltas, type DeltaGroups, type FoldRow } from "../../usage/rollup.ts";
import { createMemoryFold } from "./rollup.ts";
import { USAGE_COLUMNS, usageValues, type UsageRecord, type UsageRecorder } from "../../usage/record.ts";

export interface UsageRecorderOptions extends Omit<GroupCommitOptions, "maxBatch"> {
  /** The writer's thread (writer.ts): commits happen there, never on the event loop. */
  thread: WriterThread;
  /** Rows per transaction: a few hundred keeps one commit well under a millisecond or two. */
  maxBatch?: number;
  /** Asked before every commit (cheaply: no syscall): why the database file cannot take rows now (deleted, replaced), or null. */
  checkFile?: () => string | null;
}

/**
 * SQLite's usage recorder: the group-commit queue (usage/group-commit.ts) over the writer's thread. Rows
 * recorded during one event-loop turn go to the thread as one batch right after it (a lone request's row
 * at once) and are committed there in one transaction; a row's promise resolves when the thread says so.
 */
export function createUsageRecorder({ thread, checkFile, maxBatch = 256, ...options }: UsageRecorderOptions): UsageRecorder {
  return createGroupCommit({ ...thread.commitWriter, unavailable: checkFile }, { ...options, maxBatch });
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
export function createUsageWriter(db: Pick<Db, "$client">, { foldEveryMs = 250, clock = Date.now }: UsageWriterOptions = {}) {
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
  return { createdAt: r.createdAt, keyId: r.keyId, model: r.modelRequested, promptTokens: r.promptTokens, completionTokens: r.completionTokens, costNanoUsd: r.costNanoUsd, estimated: r.estimated, cacheHit: r.cacheHit ?? false, savedNanoUsd: r.savedNanoUsd ?? null };
}
