import { statSync } from "node:fs";
import { startCheckpointer } from "./checkpointer.ts";
import { describeSqliteError, openDatabase, probeWrite, retryBusy, type Db } from "./client.ts";
import { registerInstance } from "./instances.ts";
import { watchDatabaseFile } from "./file-watch.ts";
import { UserError } from "../../errors.ts";
import { sqliteKeyRows } from "./key-rows.ts";
import { spentSince } from "./reports.ts";
import { createUsageRecorder } from "./recorder.ts";
import { startRetentionJob } from "./retention.ts";
import { startRollupJob } from "./rollup.ts";
import { sqliteFailures } from "../failures.ts";
import { sqliteKeyStore } from "./keys.ts";
import { sqliteUsageQueries } from "./usage.ts";
import type { Storage, StorageOptions } from "../types.ts";

/**
 * The embedded SQLite database, set up for serving: the event loop never waits on a lock (busy_timeout
 * 0, writes retried between turns), WAL checkpoints on a worker thread, roll-ups folded in the
 * background, and the file watched in case someone deletes it.
 */
export function openSqliteStorage(path: string, busyTimeoutMs: number, { health, log, clock, onCommit, usageRetentionDays, inFlight }: StorageOptions): Storage & { db: Db } {
  // Start-up may wait for other processes' locks (migrations); once serving, the event loop never does.
  const db = openDatabase({ path, busyTimeoutMs });
  assertWritable(db, path);
  db.$client.run("PRAGMA busy_timeout = 0");
  db.$client.run("PRAGMA wal_autocheckpoint = 0"); // checkpoints run on a worker thread instead
  db.$client.run(`PRAGMA journal_size_limit = ${32 * 1024 * 1024}`);
  db.$client.run("PRAGMA cache_size = -16000"); // 16 MB: the key lookup index of 100,000 keys stays in memory
  const writerCheckpoint = db.$client.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  const checkpointer = startCheckpointer(path, {
    log,
    afterCheckpoint: () => {
      try {
        writerCheckpoint.get();
      } catch {} // busy or failing: the worker's next round tries again
    },
  });
  const instance = registerInstance({ sqlite: db.$client });
  const fileWatch = watchDatabaseFile(path, health);
  const recorder = createUsageRecorder({ db, health, busyTimeoutMs, log, onCommit, alone: () => inFlight() <= 1, checkFile: fileWatch.reason });
  const rollups = startRollupJob({ sqlite: db.$client, log });
  const retention = usageRetentionDays === undefined ? undefined : startRetentionJob({ sqlite: db.$client, days: usageRetentionDays, clock, log });
  const failures = sqliteFailures(db);
  const unfolded = db.$client.query<{ n: number }, []>("SELECT coalesce((SELECT max(id) FROM usage), 0) - coalesce((SELECT last_usage_id FROM rollup_state), 0) AS n");
  return {
    db,
    where: path,
    keys: sqliteKeyStore(db),
    usage: sqliteUsageQueries(db),
    keyRows: sqliteKeyRows(db),
    recorder,
    loadSpent: (keyId, from) => spentSince(db, keyId, from),
    addFailures: (rows) => failures.add(rows),
    retryWrites: (fn) => retryBusy(fn, busyTimeoutMs),
    others: instance.others,
    gauges: { unfoldedRows: () => unfolded.get()?.n ?? 0, walBytes: () => fileSize(`${path}-wal`) },
    async close() {
      await recorder.drain();
      recorder.stop();
      fileWatch.stop();
      rollups.stop();
      retention?.stop();
      instance.stop();
      await checkpointer.stop();
      db.$client.close();
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A server that could not write its rows would answer 200s it cannot bill: refuse to start instead. */
function assertWritable(db: Db, path: string): void {
  try {
    probeWrite(db.$client);
  } catch (err) {
    db.$client.close();
    throw new UserError(`cannot write to database ${path}: ${describeSqliteError(err)} (check the file's and its directory's permissions and free disk space)`);
  }
}
