// SQLite's usage writer: rows of one event-loop turn in one transaction, folded into the roll-ups from memory.
import { describeSqliteError, isBusy, probeWrite, type Db } from "./client.ts";
import { usageNotRecorded, type StorageHealth } from "../health.ts";
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

// Retry steps while another process holds the write lock: the event loop never sleeps in SQLite's busy handler.
const BUSY_STEPS_MS = [1, 2, 5, 10, 20, 50, 100];

interface Pending {
  row: UsageRecord;
  /** Runs synchronously right after the row's commit (settles the request's spend and limits). */
  committed?: () => void;
  since: number;
  done: () => void;
  fail: (err: Error) => void;
}

/**
 * Group commit: rows recorded during one event-loop turn are written in one transaction right after
 * it (a lone request's row at once). `record()` resolves once the row is committed (WAL) and rejects with the 503 `usage_not_recorded`
 * when it cannot be: a caller that waits for it before finishing the response never lets a client see
 * a success whose row was lost. The connection must have busy_timeout 0: a held lock is waited for
 * here, asynchronously, up to `busyTimeoutMs`.
 */
export function createUsageRecorder({ db, health, busyTimeoutMs, maxBatch = 256, probeIntervalMs = 1000, log = console.error, onCommit, alone, checkFile }: UsageRecorderOptions): UsageRecorder {
  const writeRows = createUsageWriter(db);
  let queue: Pending[] = [];
  let scheduled = false;
  let busyStep = 0;
  let probe: Timer | undefined;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    if (busyStep > 0) setTimeout(flush, BUSY_STEPS_MS[Math.min(busyStep, BUSY_STEPS_MS.length) - 1]);
    else if (alone?.()) queueMicrotask(flush);
    else setImmediate(flush);
  }

  function failing(reason: string, rows: Pending[]): void {
    health.set("writer", reason);
    const err = usageNotRecorded(reason, true);
    for (const p of rows) p.fail(err);
    if (!probe) {
      probe = setInterval(() => {
        try {
          probeWrite(db.$client);
          clearInterval(probe);
          probe = undefined;
          health.set("writer", null);
        } catch {}
      }, probeIntervalMs);
      probe.unref();
    }
  }

  /** Writes everything queued now. Also called on shutdown. */
  function flush(): void {
    scheduled = false;
    const gone = queue.length > 0 ? checkFile?.() : null;
    if (gone) {
      // A commit would land in a file nobody reads: its requests get 503 (the file source keeps health down).
      const lost = queue;
      queue = [];
      busyStep = 0;
      const err = usageNotRecorded(gone, true);
      for (const p of lost) p.fail(err);
      return;
    }
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      const began = performance.now();
      try {
        writeRows.immediate(batch.map((b) => b.row));
        onCommit?.(batch.length, (performance.now() - began) / 1000);
      } catch (err) {
        if (isBusy(err)) {
          if (Date.now() - queue[0]!.since < busyTimeoutMs) {
            busyStep++;
            schedule();
            return;
          }
          const stuck = queue;
          queue = [];
          busyStep = 0;
          return failing(`the database is locked by another process for over ${busyTimeoutMs} ms`, stuck);
        }
        if (isStorageFault(err)) {
          const lost = queue;
          queue = [];
          busyStep = 0;
          log(`[gateway] usage write failed (${lost.length} rows; their requests get 503): ${describeSqliteError(err)}`);
          return failing(describeSqliteError(err), lost);
        }
        writeOneByOne(batch);
        queue = queue.slice(batch.length);
        continue;
      }
      busyStep = 0;
      queue = queue.slice(batch.length);
      for (const b of batch) settle(b);
      if (!probe) health.set("writer", null);
    }
  }

  /** The row is committed: its request's spend and limits are settled, and its response may end. */
  function settle(p: Pending): void {
    try {
      p.committed?.();
    } catch (err) {
      // One request's settlement must not leave the rest of its batch waiting.
      log(`[gateway] internal error settling request ${p.row.requestId}: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      p.done();
    }
  }

  /** A row-level problem (a constraint) must not take the other rows of its batch down with it. */
  function writeOneByOne(batch: Pending[]): void {
    for (const p of batch) {
      try {
        writeRows.immediate([p.row]);
        settle(p);
      } catch (err) {
        log(`[gateway] usage row for request ${p.row.requestId} could not be written: ${describeSqliteError(err)}`);
        p.fail(usageNotRecorded("the usage row was refused by the database", true));
      }
    }
  }

  return {
    /** Resolves once the row is committed (after `committed` ran); rejects with the 503 when it cannot be. */
    record(row: UsageRecord, committed?: () => void): Promise<void> {
      return new Promise((done, fail) => {
        queue.push({ row, committed, since: Date.now(), done, fail });
        schedule();
      });
    },
    flush,
    pending: () => queue.length,
    /** Resolves once every queued row is committed or failed (bounded by the busy timeout). */
    async drain(): Promise<void> {
      flush();
      while (queue.length > 0) await Bun.sleep(5);
    },
    stop: () => clearInterval(probe),
  };
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
