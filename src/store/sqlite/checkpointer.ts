// WAL checkpoints copy the log into the database file and fsync it. SQLite's automatic checkpoint
// would do that inside whichever commit crosses the threshold, stalling the event loop, so the server
// turns it off and checkpoints from a worker thread instead. Under constant writes the worker's PASSIVE
// checkpoint never reaches the log's end, and a RESTART one holds the write lock for tens of ms. Instead,
// after each worker checkpoint the server's writer connection (on the writer's thread, the only writer)
// runs one PASSIVE checkpoint: it copies just what arrived meanwhile and completes, so the next commit
// starts the log over in place.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db;
let timer;
let lastError = "";
self.onmessage = (e) => {
  if (e.data.stop) { clearInterval(timer); try { db?.query("PRAGMA wal_checkpoint(PASSIVE)").get(); db?.close(); } catch {} postMessage({ stopped: true }); return; }
  db = new Database(e.data.path);
  db.run("PRAGMA busy_timeout = 50");
  db.run("PRAGMA journal_size_limit = " + e.data.sizeLimit);
  timer = setInterval(() => {
    try {
      db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
      if (lastError) postMessage({ recovered: true });
      lastError = "";
      postMessage({ checkpointed: true });
    } catch (err) {
      const msg = String(err && err.message || err);
      if (!/busy|locked/i.test(msg) && msg !== lastError) postMessage({ error: msg });
      if (!/busy|locked/i.test(msg)) lastError = msg;
    }
  }, e.data.intervalMs);
};`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** Bytes the WAL file is trimmed to when it starts over. */
  sizeLimit?: number;
  /** Runs after each worker checkpoint: asks for the writer's own PASSIVE checkpoint. */
  afterCheckpoint?: () => void;
  log?: (line: string) => void;
}

export function startCheckpointer(path: string, { intervalMs = 250, sizeLimit = 32 * 1024 * 1024, afterCheckpoint, log = console.error }: CheckpointerOptions = {}): Checkpointer {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(url);
  worker.unref();
  let stopped: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent<{ error?: string; recovered?: boolean; checkpointed?: boolean; stopped?: boolean }>) => {
    if (e.data.checkpointed) afterCheckpoint?.();
    if (e.data.error) log(`[gateway] WAL checkpoint failed (logged once until it changes): ${e.data.error}`);
    if (e.data.recovered) log("[gateway] WAL checkpoints work again");
    if (e.data.stopped) stopped?.();
  };
  worker.postMessage({ path, intervalMs, sizeLimit });
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
