// A request thread's view of what the primary thread owns (serve --workers): the counters behind every
// limit, the per-minute request limiter, the usage recorder and the metrics. Each is the interface the
// single-threaded server uses, answered over the channel, so the request path is the same code.
//
// Exactness: every check-and-reserve happens on the primary, one at a time, as it does for one thread. A
// ticket stays there; the row's commit settles it there, in the same step (Settlement.remote).
import type { Admission, CounterStore, Estimate, KeyLimits, KeySnapshot, Refusal, Settlement, Ticket, Actual } from "../admission/counters.ts";
import type { LimitDecision, Take } from "../limits/fixed-window.ts";
import type { MetricsView } from "../observe/metrics.ts";
import type { RequestReport } from "../observe/report.ts";
import type { UsageRecord, UsageRecorder } from "../usage/record.ts";
import type { Channel } from "./channel.ts";
import { hasLimits } from "../admission/counters.ts";

/** What the primary answers to an admission: the ticket's number or the refusal, and where the key stands after it. */
export type AdmitAnswer = { ok: true; ticket: number; snapshot: KeySnapshot } | { ok: false; refusal: Refusal; snapshot: KeySnapshot };

/** The primary's state, sent to every request thread several times a second. */
export interface PrimaryState {
  /** Why usage cannot be recorded now, or null. */
  fault: string | null;
  pending: number;
  oldestPendingMs: number;
}

export type RemoteLimiter = (id: string, limit: number, count: Take, limits?: KeyLimits) => Promise<LimitDecision>;

const FREE: Admission = { ok: true, ticket: { settle() {}, release() {} } };

export function remoteParts(channel: Channel) {
  // Where each key stood at its last answer from the primary: the headers of the response in progress.
  const snapshots = new Map<string, KeySnapshot>();
  const remember = (id: string, s: KeySnapshot | null | undefined) => {
    if (!s) return;
    if (snapshots.size > 10_000) snapshots.clear();
    snapshots.set(id, s);
  };

  function ticketOf(id: number): Ticket {
    let open = true;
    const close = (name: string, payload: unknown) => {
      if (!open) return;
      open = false;
      channel.send(name, payload);
    };
    return { remoteIds: [id], settle: (actual: Actual) => close("settle", [id, actual]), release: () => close("release", id) };
  }

  const counters: CounterStore = {
    admit(limits: KeyLimits, estimate: Estimate, now: number): Admission | Promise<Admission> {
      // A key without limits holds nothing: no call. Its row still reaches the primary, which then drops
      // what counters the key had (as admitting it there would: a limit set later starts from the database).
      if (!hasLimits(limits)) return FREE;
      return admitThere(limits, estimate, now);
    },
    snapshot: (limits) => snapshots.get(limits.keyId) ?? { inFlight: 0 },
    async ready(limits, now) {
      remember(limits.keyId, await channel.call<KeySnapshot>("ready", [limits, now]));
    },
  };

  async function admitThere(limits: KeyLimits, estimate: Estimate, now: number): Promise<Admission> {
    const a = await channel.call<AdmitAnswer>("admit", [limits, estimate, now]);
    remember(limits.keyId, a.snapshot);
    return a.ok ? { ok: true, ticket: ticketOf(a.ticket) } : { ok: false, ...a.refusal };
  }

  const limiter: RemoteLimiter = async (id, limit, count, limits) => {
    const [decision, snapshot] = await channel.call<[LimitDecision, KeySnapshot | null]>("take", [id, limit, count, limits && hasLimits(limits) ? limits : null]);
    remember(id, snapshot);
    return decision;
  };

  let state: PrimaryState = { fault: null, pending: 0, oldestPendingMs: 0 };
  let recording = 0;
  let drained: (() => void) | undefined;
  const recorder: UsageRecorder = {
    async record(row: UsageRecord, committed?: () => void): Promise<void> {
      const remote = (committed as Settlement | undefined)?.remote;
      recording++;
      try {
        await channel.call("record", [row, remote?.tickets ?? [], remote?.actual ?? null]);
        if (!remote) committed?.();
      } finally {
        if (--recording === 0) drained?.();
      }
    },
    flush() {},
    pending: () => state.pending,
    oldestPendingMs: () => state.oldestPendingMs,
    drain: () => (recording === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve))),
    stop() {},
  };

  const metrics: MetricsView = {
    render: () => channel.call("metrics"),
    refusalCounts: () => channel.call("refusals"),
  };

  return {
    counters,
    limiter,
    recorder,
    metrics,
    /** A finished request's report, for the primary's access log and metrics (its start as time elapsed). */
    report(r: RequestReport): void {
      const { sink: _sink, ...rest } = r;
      channel.send("report", [rest, performance.now() - r.start]);
    },
    /** The primary's latest state (usage recording health, rows waiting). */
    setState(s: PrimaryState) {
      state = s;
    },
  };
}

export type RemoteParts = ReturnType<typeof remoteParts>;
