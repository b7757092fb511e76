// Failed requests counted by minute, kind and provider, for the dashboard's "failures over time": refusals
// by the gateway and unreachable providers leave no usage row, so every finished request is classified
// here, added up in memory and written every few seconds (one small upsert, whatever the rate of
// failures: a flood of bad keys costs no write per request).
import type { RequestReport } from "./report.ts";

export const FAILURE_KINDS = ["refused", "upstream_error", "unreachable", "timeout"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface FailureCount {
  /** The minute's first millisecond. */
  minute: number;
  kind: FailureKind;
  /** The provider that failed; "" for refusals. */
  provider: string;
  count: number;
}

const MINUTE = 60_000;
const FLUSH_MS = 5_000;
const MAX_PENDING = 10_000;

/** What kind of failure a finished API request was, if it failed; a client that went away is not one. */
export function failureOf(r: RequestReport): { kind: FailureKind; provider: string } | undefined {
  const status = r.status ?? 0;
  if (status < 400 || status === 499 || !r.path.startsWith("/v1/")) return undefined;
  const provider = r.row?.provider ?? r.provider ?? "";
  if (r.error === "upstream_timeout") return { kind: "timeout", provider };
  if (r.error === "upstream_unavailable") return { kind: "unreachable", provider };
  if (r.error?.startsWith("upstream_") || r.error === "bad_upstream_response" || (r.row && (r.row.upstreamStatus >= 400 || r.row.upstreamStatus === 0))) return { kind: "upstream_error", provider };
  return { kind: "refused", provider: "" };
}

export interface FailureTally {
  observe(r: RequestReport): void;
  /** Writes what was counted (also every few seconds on its own). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function createFailureTally(write: (rows: FailureCount[]) => Promise<void> | void, log: (line: string) => void): FailureTally {
  let pending = new Map<string, FailureCount>();
  let writing: Promise<void> = Promise.resolve();
  const add = (minute: number, kind: FailureKind, provider: string, n: number) => {
    const id = `${minute}\u0000${kind}\u0000${provider}`;
    const c = pending.get(id);
    if (c) c.count += n;
    else pending.set(id, { minute, kind, provider, count: n });
  };
  const flush = () => {
    if (pending.size === 0) return writing;
    const rows = [...pending.values()];
    pending = new Map();
    writing = writing.then(async () => {
      try {
        await write(rows);
      } catch (err) {
        // Tried again with the next flush; counts for a chart, not money: past MAX_PENDING they are dropped.
        if (pending.size + rows.length <= MAX_PENDING) for (const r of rows) add(r.minute, r.kind, r.provider, r.count);
        log(`[gateway] failure counts not written yet (${rows.length} rows): ${(err as Error).message}`);
      }
    });
    return writing;
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref?.();
  return {
    observe(r) {
      const failed = failureOf(r);
      if (!failed) return;
      add(Math.floor(r.time / MINUTE) * MINUTE, failed.kind, failed.provider, 1);
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
