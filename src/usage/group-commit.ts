// The one group-commit queue both dialects record usage rows through: rows recorded while a commit is
// pending go together in the next; a row's promise resolves once it is committed (after its reservation
// was settled) and rejects with the 503 `usage_not_recorded` when it cannot be, so a response never ends
// as a success without its row. The dialect only says how to write a batch and what a failure means.
import { usageNotRecorded, type StorageHealth } from "./health.ts";
import type { UsageRecord, UsageRecorder } from "./record.ts";

/** Rows of a batch the database refused one by one (a constraint), the rest being committed. */
export type Refused = { index: number; message: string }[];

/** What a dialect gives the queue. */
export interface CommitWriter {
  /**
   * Writes one batch in one transaction (synchronously, or by the returned promise); throws on failure. A
   * writer that retries a refused batch row by row says which rows were refused.
   */
  write(rows: UsageRecord[]): void | Promise<void | Refused>;
  /**
   * What a failed write means: `busy`, retry shortly (another process holds the lock) until the rows have
   * waited `busyTimeoutMs`; `fault`, the store failed (every queued row gets its 503 while a probe waits for
   * it to work again).
   */
  kind(err: unknown): "busy" | "fault";
  /** A failure in words, for the log and the 503 (never a secret). */
  describe(err: unknown): string;
  /** Succeeds once the store takes writes again (a one-row write, a ping). */
  probe(): void | Promise<void>;
  /** Asked before a commit (cheaply): why the store cannot take rows now, or null. */
  unavailable?(): string | null;
  /** Logged when the store takes rows again after a fault. */
  recovered?: string;
}

export interface GroupCommitOptions {
  health: StorageHealth;
  /** Rows per transaction. */
  maxBatch: number;
  /** While writes fail, how often the probe runs. */
  probeIntervalMs?: number;
  /** How long rows may wait for a busy store before their requests get a 503. */
  busyTimeoutMs?: number;
  log?: (line: string) => void;
  /** After each commit: its rows and how long it took. */
  onCommit?: (rows: number, seconds: number) => void;
  /** True when no other request is in flight: the row is committed as soon as the current task yields. */
  alone?: () => boolean;
}

// Retry steps while the store is busy: the event loop never sleeps in a lock.
const BUSY_STEPS_MS = [1, 2, 5, 10, 20, 50, 100];

interface Pending {
  row: UsageRecord;
  committed?: () => void;
  since: number;
  done: () => void;
  fail: (err: Error) => void;
}

export function createGroupCommit(writer: CommitWriter, { health, maxBatch, probeIntervalMs = 1000, busyTimeoutMs = 0, log = console.error, onCommit, alone }: GroupCommitOptions): UsageRecorder {
  let queue: Pending[] = [];
  let scheduled = false;
  let writing = false;
  let busyStep = 0;
  let probe: Timer | undefined;

  function schedule(): void {
    if (scheduled || writing) return;
    scheduled = true;
    if (busyStep > 0) setTimeout(flush, BUSY_STEPS_MS[Math.min(busyStep, BUSY_STEPS_MS.length) - 1]);
    else if (alone?.()) queueMicrotask(flush);
    else setImmediate(flush);
  }

  /** Every queued row gets its 503; with `down`, the store is marked failing until the probe succeeds. */
  function failAll(reason: string, down: boolean): void {
    const lost = queue;
    queue = [];
    busyStep = 0;
    const err = usageNotRecorded(reason, true);
    for (const p of lost) p.fail(err);
    if (!down) return;
    health.set("writer", reason);
    if (probe) return;
    probe = setInterval(async () => {
      try {
        await writer.probe();
      } catch {
        return;
      }
      clearInterval(probe);
      probe = undefined;
      health.set("writer", null);
      if (writer.recovered) log(writer.recovered);
    }, probeIntervalMs);
    probe.unref();
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

  /** Writes everything queued now: synchronously for a synchronous writer. Also called on shutdown. */
  function flush(): void {
    scheduled = false;
    if (writing || queue.length === 0) return;
    const gone = writer.unavailable?.();
    // A commit would land where nobody reads it: its requests get 503 (whoever noticed keeps health down).
    if (gone) return failAll(gone, false);
    writing = true;
    let pending: Promise<void> | void;
    try {
      pending = drainQueue();
    } catch (err) {
      finished();
      throw err;
    }
    if (pending) void pending.then(finished, finished);
    else finished();
  }

  function finished(): void {
    writing = false;
    if (queue.length > 0) schedule();
  }

  /** Commits batches until the queue is empty; returns a promise only once a write is asynchronous. */
  function drainQueue(): Promise<void> | void {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      const began = performance.now();
      let result: void | Promise<void | Refused>;
      try {
        result = writer.write(batch.map((b) => b.row));
      } catch (err) {
        return failed(err);
      }
      if (result) {
        return result.then(
          (refused) => {
            committed(batch, began, refused ?? []);
            return drainQueue();
          },
          (err: unknown) => failed(err),
        );
      }
      committed(batch, began, []);
    }
  }

  function committed(batch: Pending[], began: number, refused: Refused): void {
    busyStep = 0;
    queue = queue.slice(batch.length);
    onCommit?.(batch.length - refused.length, (performance.now() - began) / 1000);
    const refusedAt = refused.length > 0 ? new Map(refused.map((r) => [r.index, r.message])) : undefined;
    batch.forEach((p, i) => {
      const why = refusedAt?.get(i);
      if (why === undefined) return settle(p);
      log(`[gateway] usage row for request ${p.row.requestId} could not be written: ${why}`);
      p.fail(usageNotRecorded("the usage row was refused by the database", true));
    });
    if (!probe) health.set("writer", null);
  }

  /** Handles a failed batch: the queue stops here (a retry is scheduled, or every row failed). */
  function failed(err: unknown): void {
    const kind = writer.kind(err);
    if (kind === "busy") {
      if (Date.now() - queue[0]!.since < busyTimeoutMs) {
        busyStep++; // the flush ends here and schedules the retry after the next step
        return;
      }
      return failAll(`the database is locked by another process for over ${busyTimeoutMs} ms`, true);
    }
    log(`[gateway] usage write failed (${queue.length} rows; their requests get 503): ${writer.describe(err)}`);
    failAll(writer.describe(err), true);
  }

  return {
    record(row: UsageRecord, committed?: () => void): Promise<void> {
      return new Promise((done, fail) => {
        queue.push({ row, committed, since: Date.now(), done, fail });
        schedule();
      });
    },
    flush,
    pending: () => queue.length,
    oldestPendingMs: () => (queue.length > 0 ? Date.now() - queue[0]!.since : 0),
    async drain(): Promise<void> {
      flush();
      while (queue.length > 0 || writing) await Bun.sleep(5);
    },
    stop: () => clearInterval(probe),
  };
}
