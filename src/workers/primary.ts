// serve --workers N: the primary thread starts N - 1 request threads (request-thread.ts) that serve the
// same port (SO_REUSEPORT; the kernel spreads connections), and answers their calls. It stays the one
// owner of every counter (requests per minute, tokens, in flight, budgets with their reservations) and
// of the usage recorder, so limits are exact across threads without Redis, as they are for one thread:
// each check-and-reserve runs here, one at a time, and a row's commit settles its ticket in the same step.
// A request thread that dies gives back what its requests held (their rows already handed over still
// commit and settle), and a new one takes its place.
import type { ServerConfig } from "../config.ts";
import type { CounterStore, KeyLimits, Ticket, Actual, Estimate } from "../admission/counters.ts";
import type { LimitDecision, Take } from "../limits/fixed-window.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { RequestReport } from "../observe/report.ts";
import type { StorageHealth } from "../usage/health.ts";
import type { UsageRecord, UsageRecorder } from "../usage/record.ts";
import { createChannel, type Channel } from "./channel.ts";
import type { AdmitAnswer, PrimaryState } from "./remote.ts";

// In the compiled binary the thread is an entry point of its own (package.json's build script).
const THREAD_URL = import.meta.url.startsWith("file:///$bunfs/") ? "./src/workers/request-thread.ts" : new URL("./request-thread.ts", import.meta.url).href;
/** How often the primary tells the threads its state (health, rows waiting) and they tell theirs. */
export const STATE_EVERY_MS = 100;

export interface PrimaryOptions {
  counters: CounterStore;
  limiter: (id: string, limit: number, count: Take) => LimitDecision | Promise<LimitDecision>;
  recorder: UsageRecorder;
  health: StorageHealth;
  metrics: Metrics;
  report: (r: RequestReport, worker: number) => void;
  log: (line: string) => void;
  /** Writes a request thread's log line as it is. */
  writeLine: (line: string) => void;
  clock: () => number;
  /** The port the primary listens on. */
  port: number;
}

/** What a request thread is told at start. */
export interface ThreadInit {
  index: number;
  port: number;
  flags: ServerConfig["loadedFrom"]["flags"];
  env: ServerConfig["loadedFrom"]["env"];
}

const NOTHING: Estimate = { tokens: 0, costNanoUsd: 0 };
const unlimited = (keyId: string): KeyLimits => ({ keyId, tpmLimit: null, maxParallel: null, budgetNanoUsd: null, budgetPeriod: "month" });

interface Held {
  ticket: Ticket;
  /** Whose counters it holds (a key's id, or a customer's subject). */
  subject: string;
  /** Its row was handed to the recorder: the commit settles it (or the thread releases it on failure). */
  recording: boolean;
}

interface RequestThread {
  worker: Worker;
  channel: Channel;
  held: Map<number, Held>;
  inFlight: number;
  gone: boolean;
}

export async function startRequestThreads(config: ServerConfig, opts: PrimaryOptions) {
  const { counters, recorder, metrics, log } = opts;
  const threads: RequestThread[] = [];
  let nextTicket = 1;
  let stopping = false;

  function handlers(index: number, t: () => RequestThread) {
    const hold = (ticket: Ticket, subject: string) => {
      const id = nextTicket++;
      t().held.set(id, { ticket, subject, recording: false });
      return id;
    };
    const close = (id: number, how: (h: Held) => void) => {
      const h = t().held.get(id);
      if (!h) return;
      t().held.delete(id);
      how(h);
    };
    const snapshotOf = (limits: KeyLimits | null) => (limits ? counters.snapshot(limits, opts.clock()) : null);
    return {
      take: async ([id, limit, count, limits]: [string, number, Take, KeyLimits | null]) => [await opts.limiter(id, limit, count), snapshotOf(limits)],
      admit: async ([limits, estimate, now]: [KeyLimits, Estimate, number]): Promise<AdmitAnswer> => {
        const a = await counters.admit(limits, estimate, now);
        if (t().gone) {
          if (a.ok) a.ticket.release();
          throw new Error("request thread gone");
        }
        const snapshot = counters.snapshot(limits, opts.clock());
        if (!a.ok) {
          const { ok: _ok, ...refusal } = a;
          return { ok: false, refusal, snapshot };
        }
        return { ok: true, ticket: hold(a.ticket, limits.keyId), snapshot };
      },
      settle: ([id, actual]: [number, Actual]) => close(id, (h) => h.ticket.settle(actual)),
      release: (id: number) => close(id, (h) => h.ticket.release()),
      ready: async ([limits, now]: [KeyLimits, number]) => {
        await counters.ready(limits, now);
        return counters.snapshot(limits, opts.clock());
      },
      record: async ([row, ids, actual]: [UsageRecord, number[], Actual | null]) => {
        const mine = ids.filter((id) => t().held.has(id));
        // A key without limits was admitted there without a call: drop what counters the key had here.
        if (!mine.some((id) => t().held.get(id)!.subject === row.keyId)) void counters.admit(unlimited(row.keyId), NOTHING, opts.clock());
        for (const id of mine) t().held.get(id)!.recording = true;
        try {
          await recorder.record(row, actual && mine.length > 0 ? () => mine.forEach((id) => close(id, (held) => held.ticket.settle(actual))) : undefined);
        } catch (err) {
          for (const id of mine) {
            const h = t().held.get(id);
            if (h) h.recording = false;
            if (t().gone) close(id, (held) => held.ticket.release());
          }
          throw err;
        }
      },
      metrics: () => metrics.render(),
      refusals: () => metrics.refusalCounts(),
      report: ([r, elapsed]: [RequestReport, number]) => {
        r.start = performance.now() - elapsed;
        opts.report(r, index);
      },
      load: (n: number) => void (t().inFlight = n),
      log: (line: string) => opts.writeLine(line),
    };
  }

  function spawn(index: number): Promise<void> {
    const worker = new Worker(THREAD_URL);
    const thread: RequestThread = { worker, channel: undefined as never, held: new Map(), inFlight: 0, gone: false };
    thread.channel = createChannel((batch) => worker.postMessage(batch), handlers(index, () => thread));
    threads[index - 1] = thread;
    worker.onmessage = (e: MessageEvent<string>) => thread.channel.receive(e.data);
    worker.addEventListener("close", () => {
      thread.gone = true;
      thread.channel.close(new Error("request thread gone"));
      // What its requests held comes back; rows already handed over still commit and settle.
      for (const [id, h] of thread.held) {
        if (h.recording) continue;
        thread.held.delete(id);
        h.ticket.release();
      }
      if (stopping) return;
      log(`[gateway] request thread ${index} stopped unexpectedly; starting a new one`);
      setTimeout(() => spawn(index).catch((err: unknown) => log(`[gateway] request thread ${index} could not start: ${(err as Error).message}`)), 1000);
    });
    const init: ThreadInit = { index, port: opts.port, ...config.loadedFrom };
    return thread.channel.call<void>("start", init);
  }

  await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => spawn(i + 1)));

  // The threads learn the primary's health and rows waiting (/health, refusing before forwarding).
  const tell = setInterval(() => {
    const state = opts.health.state();
    const s: PrimaryState = { fault: state.ok ? null : state.reason, pending: recorder.pending(), oldestPendingMs: recorder.oldestPendingMs() };
    for (const t of threads) if (!t.gone) t.channel.send("state", s);
  }, STATE_EVERY_MS);
  tell.unref();

  return {
    /** Requests the request threads are serving (as they last said). */
    inFlight: () => threads.reduce((n, t) => n + (t.gone ? 0 : t.inFlight), 0),
    /** Each thread stops accepting and finishes its requests within `graceMs` (0: at once), then exits. */
    async stop(graceMs: number): Promise<void> {
      stopping = true;
      clearInterval(tell);
      await Promise.all(
        threads.map(async (t) => {
          if (t.gone) return;
          await t.channel.call("stop", graceMs).catch(() => {});
          if (graceMs === 0) t.worker.terminate();
        }),
      );
    },
  };
}
