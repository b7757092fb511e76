// Which gateway servers use this database: each one keeps a heartbeat row in `meta`, so a second server
// on the same file knows it is not alone (its request, token, parallel and budget limits are counted in
// its own process unless the counters are shared).
import type { Database } from "bun:sqlite";
import { hostname } from "node:os";

const PREFIX = "server:";

/** This server's name in the heartbeat rows. */
export function instanceKey(): string {
  return `${PREFIX}${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Servers (host:pid:tag) serving this database now (a process on this host that is gone is not counted). */
export function othersAlive(sqlite: Database, beatMs = 5000, clock = Date.now): string[] {
  const host = hostname();
  return sqlite
    .query<{ key: string }, [number]>("SELECT key FROM meta WHERE key LIKE 'server:%' AND CAST(value AS INTEGER) >= ?")
    .all(clock() - 3 * beatMs)
    .map((r) => r.key.slice(PREFIX.length))
    .filter((id) => {
      const [h, pid] = id.split(":");
      return h !== host || alive(Number(pid));
    });
}

/** Writes `me`'s heartbeat row now and every `beatMs`; stop() deletes it. Runs on the writer's thread. */
export function startHeartbeat(sqlite: Database, me: string, beatMs = 5000, clock = Date.now) {
  const beat = () => {
    try {
      sqlite.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [me, String(clock())]);
      sqlite.run("DELETE FROM meta WHERE key LIKE 'server:%' AND CAST(value AS INTEGER) < ?", [clock() - 10 * beatMs]);
    } catch {} // busy or failing storage: the next beat tries again (health reports the storage)
  };
  beat();
  const timer = setInterval(beat, beatMs);
  return {
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
