import type { SQL } from "bun";
import { usageNotRecorded, type StorageHealth } from "../db/storage-health.ts";
import type { UsageRecord, UsageRecorder } from "../usage/recorder.ts";
import { foldDeltas, type Delta } from "../usage/rollup.ts";
import { describePgError } from "./postgres.ts";

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

const COLUMNS = [
  "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens",
  "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at", "response_id", "attempts", "cache_write_tokens",
] as const;
const SUMS = ["requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests"];

interface Pending {
  row: UsageRecord;
  committed?: () => void;
  done: () => void;
  fail: (err: Error) => void;
}

function values(r: UsageRecord): unknown[] {
  return [
    r.requestId, r.keyId, r.modelRequested, r.modelAnswered, r.provider, r.promptTokens, r.completionTokens,
    r.cachedTokens, r.reasoningTokens, r.costNanoUsd, r.estimated, r.upstreamStatus, Math.round(r.latencyMs),
    r.streamed, r.createdAt, r.responseId ?? null, r.attempts ?? 1, r.cacheWriteTokens ?? null,
  ];
}

/** One multi-row INSERT: `rows` rows of `width` placeholders. */
function placeholders(rows: number, width: number, offset = 0): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: width }, (_, c) => `$${offset + r * width + c + 1}`).join(", ")})`);
  return out.join(", ");
}

function upsert(table: string, keys: string[], deltas: Delta[], keyOf: (d: Delta) => unknown[]): [string, unknown[]] {
  const cols = [...keys, ...SUMS];
  const params = deltas.flatMap((d) => [...keyOf(d), ...d.sums]);
  return [
    `INSERT INTO ${table} (${cols.join(", ")}) VALUES ${placeholders(deltas.length, cols.length)}
     ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${SUMS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", ")}`,
    params,
  ];
}

/** Sums of one grain, merged by its key columns (a statement may not touch one row twice). */
function regroup(deltas: Delta[], keyOf: (d: Delta) => string): Delta[] {
  const merged = new Map<string, Delta>();
  for (const d of deltas) {
    const id = keyOf(d);
    const m = merged.get(id);
    if (!m) merged.set(id, { ...d, sums: [...d.sums] });
    else for (let i = 0; i < 6; i++) m.sums[i]! += d.sums[i]!;
  }
  return [...merged.values()];
}

/** Inserts rows and adds them to the three roll-ups, in one transaction (roll-ups always equal the rows). */
export async function writeUsageRows(sql: SQL, rows: UsageRecord[]): Promise<void> {
  const deltas = foldDeltas(rows.map((r) => ({ ...r, model: r.modelRequested })));
  await sql.begin(async (tx) => {
    // A row is acknowledged to the customer once committed: never on a server set to commit lazily.
    await tx.unsafe("SET LOCAL synchronous_commit = on");
    await tx.unsafe(`INSERT INTO usage (${COLUMNS.join(", ")}) VALUES ${placeholders(rows.length, COLUMNS.length)}`, rows.flatMap(values));
    // Rows locked in one order (day, key, model) by every instance: concurrent commits cannot deadlock.
    for (const [query, params] of [
      upsert("usage_daily", ["day", "key_id", "model"], deltas, (d) => [d.day, d.keyId, d.model]),
      upsert("usage_daily_key", ["day", "key_id"], regroup(deltas, (d) => `${d.day}\u0000${d.keyId}`), (d) => [d.day, d.keyId]),
      upsert("usage_daily_model", ["day", "model"], regroup(deltas, (d) => `${d.day}\u0000${d.model}`).sort((a, b) => a.day - b.day || (a.model < b.model ? -1 : 1)), (d) => [d.day, d.model]),
    ] as const) {
      await tx.unsafe(query, params as unknown[]);
    }
  });
}

/**
 * Group commit to PostgreSQL: rows recorded while the previous transaction is in flight go together in
 * the next. `record()` resolves once the row is committed and rejects with the 503 `usage_not_recorded`
 * when it cannot be (the database unreachable): a response never ends as a success without its row.
 */
export function createPgUsageRecorder({ sql, health, maxBatch = 500, probeIntervalMs = 1000, log = console.error, onCommit }: PgRecorderOptions): UsageRecorder {
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let scheduled = false;
  let probe: Timer | undefined;

  function schedule(): void {
    if (scheduled || writing) return;
    scheduled = true;
    setImmediate(flush);
  }

  function failing(reason: string): void {
    health.set("writer", reason);
    if (probe) return;
    probe = setInterval(() => {
      sql`SELECT 1`.then(
        () => {
          clearInterval(probe);
          probe = undefined;
          health.set("writer", null);
          log("[gateway] PostgreSQL takes usage rows again");
        },
        () => {},
      );
    }, probeIntervalMs);
    probe.unref();
  }

  function flush(): void {
    scheduled = false;
    if (writing || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    const began = performance.now();
    writing = writeUsageRows(sql, batch.map((b) => b.row)).then(
      () => {
        onCommit?.(batch.length, (performance.now() - began) / 1000);
        for (const p of batch) {
          try {
            p.committed?.();
          } finally {
            p.done();
          }
        }
      },
      (err: unknown) => {
        const reason = `PostgreSQL did not take the usage rows: ${describePgError(err)}`;
        log(`[gateway] usage write failed (${batch.length} rows; their requests get 503): ${describePgError(err)}`);
        failing(reason);
        const e = usageNotRecorded(reason, true);
        for (const p of batch) p.fail(e);
      },
    );
    void writing.finally(() => {
      writing = undefined;
      if (queue.length > 0) schedule();
    });
  }

  return {
    record(row: UsageRecord, committed?: () => void): Promise<void> {
      return new Promise((done, fail) => {
        queue.push({ row, committed, done, fail });
        schedule();
      });
    },
    flush,
    pending: () => queue.length + (writing ? 1 : 0),
    async drain(): Promise<void> {
      for (;;) {
        if (writing) await writing.catch(() => {});
        else if (queue.length > 0) flush();
        else return;
      }
    },
    stop: () => clearInterval(probe),
  };
}
