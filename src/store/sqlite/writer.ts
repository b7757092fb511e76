// The server's side of the SQLite writer's thread (writer-thread.ts): hands it batches of rows and hears
// back, as a CommitWriter for the group-commit queue; forwards failure counts and checkpoints to it.
import type { CommitWriter } from "../../usage/group-commit.ts";
import type { FailureCount } from "../../observe/failures.ts";
import type { FromWriter, ToWriter, WriteFailure } from "./writer-messages.ts";

// In the compiled binary the thread is an entry point of its own (package.json's build script), found by
// its path from the project root; from source, next to this file.
const THREAD_URL = import.meta.url.startsWith("file:///$bunfs/") ? "./src/store/sqlite/writer-thread.ts" : new URL("./writer-thread.ts", import.meta.url).href;

export interface WriterThreadOptions {
  busyTimeoutMs: number;
  retentionDays: number | undefined;
  /** This server's heartbeat row (instances.ts). */
  heartbeatKey: string;
  log: (line: string) => void;
  /** The thread's script (tests start one that dies). */
  threadUrl?: string;
}

export class WriteFailed extends Error {
  constructor(readonly failure: WriteFailure) {
    super(failure.message);
  }
}

export interface WriterThread {
  commitWriter: Omit<CommitWriter, "unavailable">;
  /** Resolves once the counts are committed; rejects (the tally keeps them for its next flush) when they are not. */
  addFailures(rows: FailureCount[]): Promise<void>;
  /** The writer's own PASSIVE checkpoint, after each of the checkpointer's. */
  checkpoint(): void;
  stop(): Promise<void>;
}

export function startWriterThread(path: string, { busyTimeoutMs, retentionDays, heartbeatKey, log, threadUrl = THREAD_URL }: WriterThreadOptions): WriterThread {
  const waiting = new Map<number, { resolve: (refused: { index: number; message: string }[]) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let stopped: (() => void) | undefined;
  let stopping = false;
  let spawnedAt = 0;
  // Undefined between a thread's death and its successor's start.
  let worker: Worker | undefined = spawn();
  const send = (m: ToWriter) => worker?.postMessage(m);

  /**
   * The thread, opened on the database. Should it die (a bug, memory), the rows it held get their 503 (a
   * fault: the recorder's probe then waits for the new thread) and a new thread takes its place, so
   * nothing waits forever for an answer that cannot come.
   */
  function spawn(): Worker {
    spawnedAt = Date.now();
    const w = new Worker(threadUrl);
    w.unref(); // the server keeps the process alive; close() drains and stops the thread
    w.onmessage = (e: MessageEvent<FromWriter>) => {
      const m = e.data;
      if (m.t === "written" || m.t === "failed") {
        const job = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.t === "written") job?.resolve(m.refused);
        else if (job) job.reject(new WriteFailed(m));
        else log(`[gateway] the usage writer could not open the database: ${m.message}`);
      } else if (m.t === "log") log(m.line);
      else if (m.t === "stopped") stopped?.();
    };
    w.onerror = (e) => log(`[gateway] the usage writer's thread failed: ${e.message}`);
    w.addEventListener("close", () => {
      for (const job of waiting.values()) job.reject(new WriteFailed({ kind: "fault", message: "the usage writer's thread stopped" }));
      waiting.clear();
      worker = undefined;
      if (stopping) return stopped?.();
      log("[gateway] the usage writer's thread stopped unexpectedly; starting a new one");
      // One that dies as it starts is not restarted in a tight loop.
      setTimeout(() => (worker = spawn()), Date.now() - spawnedAt < 5000 ? 1000 : 0).unref();
    });
    w.postMessage({ t: "open", path, busyTimeoutMs, retentionDays, heartbeatKey } satisfies ToWriter);
    return w;
  }

  function ask(m: { t: "write"; rows: string } | { t: "probe" } | { t: "failures"; rows: FailureCount[] }): Promise<{ index: number; message: string }[]> {
    if (!worker) return Promise.reject(new WriteFailed({ kind: "fault", message: "the usage writer's thread is restarting" }));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      send({ ...m, id });
    });
  }

  return {
    commitWriter: {
      write: (rows) => ask({ t: "write", rows: JSON.stringify(rows) }),
      kind: (err) => (err instanceof WriteFailed && err.failure.kind === "busy" ? "busy" : "fault"),
      describe: (err) => (err as Error).message ?? String(err),
      probe: async () => void (await ask({ t: "probe" })),
    },
    addFailures: async (rows) => void (await ask({ t: "failures", rows })),
    checkpoint: () => send({ t: "checkpoint" }),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          worker?.terminate();
          resolve();
        };
        stopped = done;
        stopping = true;
        send({ t: "stop" });
        setTimeout(done, 5000).unref();
      }),
  };
}
