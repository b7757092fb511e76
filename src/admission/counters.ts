// The counters behind admission: tokens per minute, requests in flight, and budget spend with the
// reservations of requests still running. One small interface, so a shared store (Redis) can replace
// the in-process one when several instances serve the same keys.
import { periodBounds, type BudgetPeriod } from "./periods.ts";

export interface KeyLimits {
  keyId: string;
  tpmLimit: number | null;
  maxParallel: number | null;
  budgetNanoUsd: number | null;
  budgetPeriod: BudgetPeriod;
}

/** The worst case of one request: what is reserved while it runs. */
export interface Estimate {
  tokens: number;
  costNanoUsd: number;
}

/** What a committed row actually used. */
export interface Actual {
  tokens: number;
  costNanoUsd: number | null;
  /** The row's created_at: the period its cost belongs to. */
  createdAt: number;
}

/** A running request's hold on the counters: settled when its row commits, or released. Exactly once. */
export interface Ticket {
  settle(actual: Actual): void;
  release(): void;
  /** Tickets the primary thread holds for a request thread (serve --workers): their numbers there. */
  remoteIds?: number[];
}

/** One ticket for several (a key's and its customer's): settled or released together, exactly once each. */
export function joined(tickets: Ticket[]): Ticket {
  if (tickets.length === 1) return tickets[0]!;
  const remoteIds = tickets.flatMap((t) => t.remoteIds ?? []);
  return {
    settle: (actual) => tickets.forEach((t) => t.settle(actual)),
    release: () => tickets.forEach((t) => t.release()),
    ...(remoteIds.length > 0 ? { remoteIds } : {}),
  };
}

/**
 * What the recorder runs right after a row's commit: the settlement of the request's ticket. Tickets
 * held by the primary thread are settled there, in the same step as the commit (`remote`).
 */
export type Settlement = (() => void) & { remote?: { tickets: number[]; actual: Actual } };

export function settleOnCommit(ticket: Ticket, actual: Actual): Settlement {
  const run: Settlement = () => ticket.settle(actual);
  if (ticket.remoteIds !== undefined) run.remote = { tickets: ticket.remoteIds, actual };
  return run;
}

/** Whether the key (or customer) has any limit the counters keep. */
export const hasLimits = (l: KeyLimits): boolean => l.tpmLimit !== null || l.budgetNanoUsd !== null || l.maxParallel !== null;

export type Refusal =
  | { reason: "budget_exhausted" }
  | { reason: "budget_reserved" }
  | { reason: "tpm_never_fits" }
  | { reason: "tpm"; resetMs: number }
  | { reason: "parallel" };

export type Admission = { ok: true; ticket: Ticket } | ({ ok: false } & Refusal);

export interface KeySnapshot {
  tokens?: { limit: number; used: number; reserved: number; resetMs: number };
  budget?: { limitNano: number; spentNano: number; reservedNano: number; period: BudgetPeriod; periodStart: number; periodEnd: number | null };
  inFlight: number;
}

export interface CounterStore {
  /** Checks every limit the key has and, if all hold, reserves the estimate; one atomic step. */
  admit(limits: KeyLimits, estimate: Estimate, now: number): Admission | Promise<Admission>;
  /** Where the key stands now (headers, GET /v1/key); after `ready`, its budget is known. */
  snapshot(limits: KeyLimits, now: number): KeySnapshot;
  /** Resolves once the key's spend in the current period is loaded (needed before `snapshot` of a fresh key). */
  ready(limits: KeyLimits, now: number): void | Promise<void>;
}

export interface MemoryCountersOptions {
  /** Spend already committed for the key since `from` (exact, from the database; PostgreSQL answers later). */
  loadSpent(keyId: string, from: number): number | Promise<number>;
}

interface BudgetState {
  period: BudgetPeriod;
  start: number;
  end: number | null;
  spent: number;
  reserved: number;
}

interface KeyState {
  /** The current period's spend is being read from the database (an asynchronous store). */
  loading?: Promise<void>;
  inFlight: number;
  tpm?: { window: number; used: number; reserved: number };
  budget?: BudgetState;
}

const MINUTE = 60_000;
const NO_HOLD: Ticket = { settle() {}, release() {} };

/**
 * In-process counters. Spend for the current period is loaded once from the database (rows and
 * roll-ups), then kept with the rows: a row's cost is added right after its commit, in the same
 * synchronous step that releases its reservation, so spend and rows never disagree in between.
 */
export function createMemoryCounters({ loadSpent }: MemoryCountersOptions): CounterStore {
  const keys = new Map<string, KeyState>();

  function state(id: string): KeyState {
    let s = keys.get(id);
    if (!s) keys.set(id, (s = { inFlight: 0 }));
    return s;
  }

  const current = (b: BudgetState | undefined, limits: KeyLimits, now: number): b is BudgetState =>
    b !== undefined && b.period === limits.budgetPeriod && now >= b.start && (b.end === null || now < b.end);

  /** The budget state of the current period, or the promise of its load (then admit again). */
  function budgetOf(s: KeyState, limits: KeyLimits, now: number): BudgetState | Promise<void> {
    // Still the same period: no calendar arithmetic on the hot path.
    if (current(s.budget, limits, now)) return s.budget;
    if (s.loading) return s.loading;
    const { start, end } = periodBounds(limits.budgetPeriod, now);
    const spent = loadSpent(limits.keyId, start);
    if (typeof spent === "number") return (s.budget = { period: limits.budgetPeriod, start, end, spent, reserved: 0 });
    // Rows this process commits meanwhile belong to requests admitted before the period began (their
    // costs count in the old one); every admission of the new period waits for the load.
    s.loading = spent.then(
      (n) => {
        s.budget = { period: limits.budgetPeriod, start, end, spent: n, reserved: 0 };
        s.loading = undefined;
      },
      (err: unknown) => {
        s.loading = undefined;
        throw err;
      },
    );
    return s.loading;
  }

  function tpmOf(s: KeyState, now: number) {
    const window = now - (now % MINUTE);
    if (!s.tpm || s.tpm.window !== window) s.tpm = { window, used: 0, reserved: 0 };
    return s.tpm;
  }

  function admit(limits: KeyLimits, estimate: Estimate, now: number): Admission | Promise<Admission> {
    if (!hasLimits(limits)) {
      keys.delete(limits.keyId); // a limit set later starts from the database, not from stale counts
      return { ok: true, ticket: NO_HOLD };
    }
    const s = state(limits.keyId);
    if (limits.budgetNanoUsd === null) s.budget = undefined;
    const budget = limits.budgetNanoUsd === null ? undefined : budgetOf(s, limits, now);
    if (budget instanceof Promise) return budget.then(() => admit(limits, estimate, now));
    const tpm = limits.tpmLimit === null ? undefined : tpmOf(s, now);
    // Permanent refusals first: the SDKs must not retry these.
    if (budget && budget.spent + estimate.costNanoUsd > limits.budgetNanoUsd!) return { ok: false, reason: "budget_exhausted" };
    if (tpm && estimate.tokens > limits.tpmLimit!) return { ok: false, reason: "tpm_never_fits" };
    if (limits.maxParallel !== null && s.inFlight >= limits.maxParallel) return { ok: false, reason: "parallel" };
    if (tpm && tpm.used + tpm.reserved + estimate.tokens > limits.tpmLimit!) return { ok: false, reason: "tpm", resetMs: tpm.window + MINUTE - now };
    if (budget && budget.spent + budget.reserved + estimate.costNanoUsd > limits.budgetNanoUsd!) return { ok: false, reason: "budget_reserved" };

    s.inFlight++;
    if (tpm) tpm.reserved += estimate.tokens;
    if (budget) budget.reserved += estimate.costNanoUsd;
    let open = true;
    const unreserve = () => {
      if (!open) return false;
      open = false;
      s.inFlight--;
      if (tpm) tpm.reserved -= estimate.tokens; // a window that has passed is simply forgotten
      if (budget) budget.reserved -= estimate.costNanoUsd;
      return true;
    };
    return {
      ok: true,
      ticket: {
        release: () => void unreserve(),
        settle(actual) {
          if (!unreserve()) return;
          if (tpm) tpm.used += actual.tokens;
          // The cost counts in the period its row belongs to, whichever budget state is current now
          // (a state loaded after this commit already includes it: loads and commits never interleave).
          const current = keys.get(limits.keyId)?.budget;
          if (current && actual.costNanoUsd !== null && actual.createdAt >= current.start && (current.end === null || actual.createdAt < current.end)) {
            current.spent += actual.costNanoUsd;
          }
        },
      },
    };
  }

  return {
    admit,

    ready(limits, now) {
      if (limits.budgetNanoUsd === null) return;
      const b = budgetOf(state(limits.keyId), limits, now);
      if (b instanceof Promise) return b;
    },

    snapshot(limits, now) {
      const s = state(limits.keyId);
      const out: KeySnapshot = { inFlight: s.inFlight };
      if (limits.tpmLimit !== null) {
        const t = tpmOf(s, now);
        out.tokens = { limit: limits.tpmLimit, used: t.used, reserved: t.reserved, resetMs: t.window + MINUTE - now };
      }
      const b = limits.budgetNanoUsd === null ? undefined : budgetOf(s, limits, now);
      if (b && !(b instanceof Promise)) {
        out.budget = { limitNano: limits.budgetNanoUsd!, spentNano: b.spent, reservedNano: b.reserved, period: b.period, periodStart: b.start, periodEnd: b.end };
      }
      return out;
    },
  };
}
