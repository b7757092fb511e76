// Which gateway servers use this database: each one keeps a heartbeat row in `meta`, so a second server
// on the same file knows it is not alone (its request, token, parallel and budget limits are counted in
// its own process unless the counters are shared).
import type { Database } from "bun:sqlite";
import { hostname } from "node:os";

const PREFIX = "server:";

export interface InstanceRegistryOptions {
  sqlite: Database;
  /** How often the heartbeat is written; a row older than three beats is a server that is gone. */
  beatMs?: number;
  clock?: () => number;
}

export function registerInstance({ sqlite, beatMs = 5000, clock = Date.now }: InstanceRegistryOptions) {
  const me = `${PREFIX}${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const beat = () => {
    try {
      sqlite.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [me, String(clock())]);
      sqlite.run("DELETE FROM meta WHERE key LIKE 'server:%' AND CAST(value AS INTEGER) < ?", [clock() - 10 * beatMs]);
    } catch {} // busy or failing storage: the next beat tries again (health reports the storage)
  };
  // Others alive now, read before this server's first beat (on this host, a process that is gone is not counted).
  const host = hostname();
  const others = sqlite
    .query<{ key: string }, [number]>("SELECT key FROM meta WHERE key LIKE 'server:%' AND CAST(value AS INTEGER) >= ?")
    .all(clock() - 3 * beatMs)
    .map((r) => r.key.slice(PREFIX.length))
    .filter((id) => {
      const [h, pid] = id.split(":");
      return h !== host || alive(Number(pid));
    });
  beat();
  const timer = setInterval(beat, beatMs);
  timer.unref();
  return {
    /** Servers (host:pid:tag) that were serving this database when this one started. */
    others,
    stop() {
      clearInterval(timer);
      try {
        sqlite.run("DELETE FROM meta WHERE key = ?", [me]);
      } catch {}
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
