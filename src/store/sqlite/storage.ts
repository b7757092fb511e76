import { sqliteWebhookStore } from "./webhooks.ts";
import { sqliteResponseCache } from "./response-cache.ts";
import { sqliteAuditStore } from "./audit.ts";
import { statSync } from "node:fs";
import { startCheckpointer } from "./checkpointer.ts";
import { describeSqliteError, openDatabase, probeWrite, retryBusy, type Db } from "./client.ts";
import { instanceKey, othersAlive } from "./instances.ts";
import { watchDatabaseFile } from "./file-watch.ts";
import { UserError } from "../../errors.ts";
import { sqliteKeyRows } from "./key-rows.ts";
import { spentSince } from "./reports.ts";
import { createUsageRecorder } from "./recorder.ts";
import { startWriterThread } from "./writer.ts";
import { sqliteKeyStore } from "./keys.ts";
import { customerSpentSince, sqliteCustomerStore } from "./customers.ts";
import { customerOfSubject } from "../../admission/subjects.ts";
import { sqliteUsageQueries } from "./usage.ts";
import type { ReaderStorage, Storage, StorageOptions } from "../types.ts";

/**
 * The embedded SQLite database, set up for serving: every write while serving (usage commits, roll-ups,
 * retention, failure counts, heartbeat) on the writer's thread and WAL checkpoints on another, so the
 * event loop only reads and never waits on a lock or a disk (busy_timeout 0); the file watched in case
 * someone deletes it. Admin writes (keys) stay on the event loop, retried between turns while busy.
 */
export function openSqliteStorage(path: string, busyTimeoutMs: number, { health, log, onCommit, usageRetentionDays, inFlight }: StorageOptions): Storage & { db: Db } {
  // Start-up may wait for other processes' locks (migrations); once serving, the event loop never does.
  const db = openDatabase({ path, busyTimeoutMs });
  assertWritable(db, path);
  db.$client.run("PRAGMA busy_timeout = 0");
  db.$client.run("PRAGMA wal_autocheckpoint = 0"); // checkpoints run on a worker thread instead
  db.$client.run(`PRAGMA journal_size_limit = ${32 * 1024 * 1024}`);
  db.$client.run("PRAGMA cache_size = -16000"); // 16 MB: the key lookup index of 100,000 keys stays in memory
  const others = othersAlive(db.$client);
  const thread = startWriterThread(path, { busyTimeoutMs, retentionDays: usageRetentionDays, heartbeatKey: instanceKey(), log });
  // After each checkpoint of the checkpointer's, the writer's own (see checkpointer.ts).
  const checkpointer = startCheckpointer(path, { log, afterCheckpoint: thread.checkpoint });
  const fileWatch = watchDatabaseFile(path, health);
  const recorder = createUsageRecorder({ thread, health, busyTimeoutMs, log, onCommit, alone: () => inFlight() <= 1, checkFile: fileWatch.reason });
  const unfolded = db.$client.query<{ n: number }, []>("SELECT coalesce((SELECT max(id) FROM usage), 0) - coalesce((SELECT last_usage_id FROM rollup_state), 0) AS n");
  return {
    db,
    where: path,
    keys: sqliteKeyStore(db),
    customers: sqliteCustomerStore(db),
    audit: sqliteAuditStore(db),
    webhooks: sqliteWebhookStore(db),
    responseCache: sqliteResponseCache(db, (fn) => retryBusy(fn, busyTimeoutMs)),
    usage: sqliteUsageQueries(db),
    keyRows: sqliteKeyRows(db),
    recorder,
    loadSpent(subject, from) {
      const customer = customerOfSubject(subject);
      return customer === null ? spentSince(db, subject, from) : db.$client.transaction(() => customerSpentSince(db, customer, from)).deferred();
    },
    addFailures: thread.addFailures,
    retryWrites: (fn) => retryBusy(fn, busyTimeoutMs),
    others,
    gauges: { unfoldedRows: () => unfolded.get()?.n ?? 0, walBytes: () => fileSize(`${path}-wal`) },
    async close() {
      await recorder.drain();
      recorder.stop();
      fileWatch.stop();
      await thread.stop();
      await checkpointer.stop();
      db.$client.close();
    },
  };
}

/**
 * A request thread's connection (serve --workers): it reads keys and reports and writes keys (admin API);
 * usage rows go to the primary's writer. Its key cache sees every change through keys_version, as another
 * server's would.
 */
export function openSqliteReader(path: string, busyTimeoutMs: number): ReaderStorage {
  const db = openDatabase({ path, busyTimeoutMs, create: false });
  db.$client.run("PRAGMA busy_timeout = 0");
  db.$client.run("PRAGMA cache_size = -16000");
  return {
    keys: sqliteKeyStore(db),
    customers: sqliteCustomerStore(db),
    audit: sqliteAuditStore(db),
    webhooks: sqliteWebhookStore(db),
    responseCache: sqliteResponseCache(db, (fn) => retryBusy(fn, busyTimeoutMs)),
    usage: sqliteUsageQueries(db),
    keyRows: sqliteKeyRows(db),
    retryWrites: (fn) => retryBusy(fn, busyTimeoutMs),
    close: async () => db.$client.close(),
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
