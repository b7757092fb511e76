// WAL checkpoints copy the log into the database file and fsync it: tens of milliseconds on a busy
// disk. SQLite's automatic checkpoint would do that inside whichever commit crosses the threshold,
// stalling the event loop, so the server turns it off and checkpoints from a worker thread instead.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db;
let timer;
self.onmessage = (e) => {
  if (e.data.stop) { clearInterval(timer); try { db?.query("PRAGMA wal_checkpoint(PASSIVE)").get(); db?.close(); } catch {} postMessage({ stopped: true }); return; }
  db = new Database(e.data.path);
  db.run("PRAGMA busy_timeout = 1000");
  timer = setInterval(() => {
    try { db.query("PRAGMA wal_checkpoint(PASSIVE)").get(); }
    catch (err) { postMessage({ error: String(err && err.message || err) }); }
  }, e.data.intervalMs);
};`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, intervalMs = 500, log: (line: string) => void = console.error): Checkpointer {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(url);
  worker.unref();
  let stopped: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent<{ error?: string; stopped?: boolean }>) => {
    if (e.data.error) log(`[gateway] WAL checkpoint failed: ${e.data.error}`);
    if (e.data.stopped) stopped?.();
  };
  worker.postMessage({ path, intervalMs });
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
