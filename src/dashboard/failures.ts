// What the dashboard shows of failures: the last 24 hours, hour by hour, by kind, and today's totals.
import { FAILURE_KINDS, type FailureKind } from "../observe/failures.ts";
import { DAY_MS } from "../usage/time-range.ts";

const HOUR = 3_600_000;
const HOURS = 24;

export interface FailureSeries {
  /** The hours' starts (ISO), oldest first; the last is the current hour. */
  hours: string[];
  by_kind: Record<FailureKind, number[]>;
  /** Since midnight UTC. */
  today: Record<FailureKind, number>;
}

/** The first millisecond the series reads. */
export function failuresSince(now: number): number {
  return Math.floor(now / HOUR) * HOUR - (HOURS - 1) * HOUR;
}

export function buildFailures(rows: { hour: number; kind: string; n: number }[], now: number): FailureSeries {
  const first = failuresSince(now);
  const midnight = Math.floor(now / DAY_MS) * DAY_MS;
  const hours = Array.from({ length: HOURS }, (_, i) => new Date(first + i * HOUR).toISOString());
  const zeros = () => new Array<number>(HOURS).fill(0);
  const byKind = Object.fromEntries(FAILURE_KINDS.map((k) => [k, zeros()])) as Record<FailureKind, number[]>;
  const today = Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>;
  for (const r of rows) {
    const series = byKind[r.kind as FailureKind];
    const i = (r.hour - first) / HOUR;
    if (!series || i < 0 || i >= HOURS) continue;
    series[i]! += r.n;
    if (r.hour >= midnight) today[r.kind as FailureKind] += r.n;
  }
  return { hours, by_kind: byKind, today };
}
