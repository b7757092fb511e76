// WAL checkpoints copy the log into the database file and fsync it. SQLite's automatic checkpoint
// would do that inside whichever commit crosses the threshold, stalling the event loop, so the server
// turns it off and checkpoints from a worker thread instead. Under constant writes a PASSIVE
// checkpoint never catches up with the log's end, so the log would only grow: every few seconds a
// RESTART checkpoint (which briefly holds back writers, after PASSIVE ones did the bulk of the copying)
// lets the next writer start the log over, and journal_size_limit trims the file.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db;
let timer;
let ticks = 0;
self.onmessage = (e) => {
  if (e.data.stop) { clearInterval(timer); try { db?.query("PRAGMA wal_checkpoint(PASSIVE)").get(); db?.close(); } catch {} postMessage({ stopped: true }); return; }
  db = new Database(e.data.path);
  db.run("PRAGMA busy_timeout = 50");
  db.run("PRAGMA journal_size_limit = " + e.data.sizeLimit);
  timer = setInterval(() => {
    try {
      const mode = ++ticks % e.data.restartEvery === 0 ? "RESTART" : "PASSIVE";
      db.query("PRAGMA wal_checkpoint(" + mode + ")").get();
    } catch (err) {
      const msg = String(err && err.message || err);
      if (!/busy|locked/i.test(msg)) postMessage({ error: msg });
    }
  }, e.data.intervalMs);
};`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** Every Nth checkpoint is a RESTART one. */
  restartEvery?: number;
  /** Bytes the WAL file is trimmed to after a restart. */
  sizeLimit?: number;
  log?: (line: string) => void;
}

export function startCheckpointer(path: string, { intervalMs = 250, restartEvery = 8, sizeLimit = 32 * 1024 * 1024, log = console.error }: CheckpointerOptions = {}): Checkpointer {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(url);
  worker.unref();
  let stopped: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent<{ error?: string; stopped?: boolean }>) => {
    if (e.data.error) log(`[gateway] WAL checkpoint failed: ${e.data.error}`);
    if (e.data.stopped) stopped?.();
  };
  worker.postMessage({ path, intervalMs, restartEvery, sizeLimit });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopped = () => {
          worker.terminate();
          URL.revokeObjectURL(url);
          resolve();
        };
        worker.postMessage({ stop: true });
        setTimeout(stopped, 2000).unref();
      }),
  };
}
