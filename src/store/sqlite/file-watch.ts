// The SQLite file watched for deletion or replacement: rows committed to a file nobody reads would be lost.
import { statSync, watch, type FSWatcher } from "node:fs";
import type { StorageHealth } from "../../usage/health.ts";

/**
 * Notices when the database file is deleted or replaced under the running server (its writes would then
 * go to an unlinked file that nobody will ever read): at once through an inotify watch of the file (an
 * unlink changes its link count; no syscall per commit), and every `intervalMs` as a fallback. The writer
 * asks `reason()` before every commit, so nothing is committed to a file known to be gone.
 */
export function watchDatabaseFile(path: string, health: StorageHealth, intervalMs = 1000): { stop(): void; reason(): string | null } {
  const identity = (): string | null => {
    try {
      const s = statSync(path);
      return `${s.dev}:${s.ino}`;
    } catch {
      return null;
    }
  };
  const original = identity();
  let current: string | null = null;
  const check = (): void => {
    const now = identity();
    current = now === original ? null : now === null ? `database file ${path} was deleted` : `database file ${path} was replaced by another file; restart the gateway`;
    health.set("file", current);
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { persistent: false }, check);
    watcher.on("error", () => {});
  } catch {} // no inotify here: the interval alone
  return {
    stop: () => {
      clearInterval(timer);
      watcher?.close();
    },
    reason: () => current,
  };
}
