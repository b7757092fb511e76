import type { Db } from "../db/client.ts";
import { isBusy } from "../db/client.ts";

/** One request's record, as written to the `usage` table. */
export interface UsageRecord {
  requestId: string;
  keyId: string;
  modelRequested: string;
  modelAnswered: string | null;
  provider: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  costNanoUsd: number | null;
  estimated: boolean;
  upstreamStatus: number;
  latencyMs: number;
  streamed: boolean;
  createdAt: number;
}

export interface UsageRecorderOptions {
  db: Db;
  /** Rows per transaction: a few hundred keeps one flush well under a millisecond or two. */
  maxBatch?: number;
  log?: (line: string) => void;
}

const COLUMNS = [
  "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens",
  "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at",
] as const;

/**
 * Group commit: rows recorded during one event-loop turn are written in one transaction right after
 * it. `record()` resolves once the row is committed (WAL), so a caller that waits for it before
 * finishing the response never lets a client see a response whose row could still be lost.
 */
export function createUsageRecorder({ db, maxBatch = 256, log = console.error }: UsageRecorderOptions) {
  const writeRows = createUsageWriter(db);
  const insertOne = (r: UsageRecord) => writeRows.immediate([r]);
  let queue: { row: UsageRecord; done: () => void }[] = [];
  let scheduled = false;
  let retryDelayMs = 0;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    if (retryDelayMs > 0) setTimeout(flush, retryDelayMs);
    else setImmediate(flush);
  }

  /** Writes everything queued now. Also called on shutdown. */
  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      try {
        writeRows.immediate(batch.map((b) => b.row));
        retryDelayMs = 0;
      } catch (err) {
        if (isBusy(err)) {
          // Another process holds the write lock past the busy timeout: keep the rows and try again.
          retryDelayMs = Math.min(Math.max(retryDelayMs * 2, 10), 1000);
          log(`[gateway] usage write delayed (${queue.length} rows queued): database busy`);
          schedule();
          return;
        }
        writeOneByOne(batch.map((b) => b.row));
      }
      queue = queue.slice(batch.length);
      for (const b of batch) b.done();
    }
  }

  function writeOneByOne(rows: UsageRecord[]): void {
    for (const r of rows) {
      try {
        insertOne(r);
      } catch (err) {
        log(`[gateway] usage row for request ${r.requestId} could not be written: ${(err as Error).message}`);
      }
    }
  }

  return {
    record(row: UsageRecord): Promise<void> {
      return new Promise((resolve) => {
        queue.push({ row, done: resolve });
        schedule();
      });
    },
    flush,
    pending: () => queue.length,
  };
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>;

/** A transaction function that inserts usage rows (the roll-up job folds them into the daily roll-ups later). */
export function createUsageWriter(db: Db) {
  const insert = db.$client.prepare(`INSERT INTO usage (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`);
  return db.$client.transaction((rows: UsageRecord[]) => {
    for (const r of rows) insert.run(...values(r));
  });
}

function values(r: UsageRecord) {
  return [
    r.requestId, r.keyId, r.modelRequested, r.modelAnswered, r.provider, r.promptTokens, r.completionTokens,
    r.cachedTokens, r.reasoningTokens, r.costNanoUsd, r.estimated ? 1 : 0, r.upstreamStatus, r.latencyMs,
    r.streamed ? 1 : 0, r.createdAt,
  ] as const;
}
