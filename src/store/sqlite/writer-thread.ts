// The SQLite writer's thread (a Bun Worker with its own connection): every write the server makes while
// serving happens here — usage commits with their roll-up fold, the roll-up job, retention deletes, the
// failure counts, the heartbeat, the writer's checkpoint — so a slow or hung disk holds this thread, never
// the event loop that answers /health, 401s and the models list. The server's thread only reads.
import { Database } from "bun:sqlite";
import { describeSqliteError, isBusy, probeWrite } from "./client.ts";
import { createUsageWriter } from "./recorder.ts";
import { startRollupJob } from "./rollup.ts";
import { startRetentionJob } from "./retention.ts";
import { startHeartbeat } from "./instances.ts";
import type { UsageRecord } from "../../usage/record.ts";
import type { FailureCount } from "../../observe/failures.ts";
import { failureStatements } from "../failures.ts";
import type { ToWriter, FromWriter, WriteFailure } from "./writer-messages.ts";

declare const self: Worker;

let sqlite: Database | undefined;
let writeRows: ReturnType<typeof createUsageWriter> | undefined;
let addFailures: ((rows: FailureCount[]) => void) | undefined;
let checkpoint: (() => void) | undefined;
let markRead: (() => void) | undefined;
const stops: (() => void)[] = [];
const post = (m: FromWriter) => self.postMessage(m);
const log = (line: string) => post({ t: "log", line });

/** Faults of the storage itself (disk full, read-only, I/O, file gone), as opposed to one bad row. */
function kindOf(err: unknown): WriteFailure["kind"] {
  if (isBusy(err)) return "busy";
  const code = (err as { code?: string } | null)?.code ?? "";
  return code.startsWith("SQLITE_CONSTRAINT") || code === "SQLITE_MISMATCH" || code === "SQLITE_TOOBIG" || code === "SQLITE_RANGE" ? "row" : "fault";
}

function open(path: string, busyTimeoutMs: number, retentionDays: number | undefined, heartbeatKey: string): void {
  sqlite = new Database(path, { strict: true });
  // Waiting for another process's lock holds only this thread; the queue's rows wait with it.
  sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  sqlite.run("PRAGMA synchronous = NORMAL");
  sqlite.run("PRAGMA wal_autocheckpoint = 0"); // the checkpointer thread does it; see checkpointer.ts
  sqlite.run(`PRAGMA journal_size_limit = ${32 * 1024 * 1024}`);
  writeRows = createUsageWriter({ $client: sqlite });
  const failures = failureStatements(sqlite);
  addFailures = (rows) => failures.add(rows);
  // Right after each commit (once its requests were told), one read on this connection: it sets a WAL read
  // mark at the new end, so the server's thread, reading next, finds a mark it can share instead of writing
  // one into the -shm file (which, on a frozen or hung file system, would hold the event loop until the
  // disk came back). Whichever reads first sets it; only a freeze between the two could catch the loop.
  const read = sqlite.prepare("SELECT value FROM meta WHERE key = 'keys_version'");
  markRead = () => {
    try {
      read.get();
    } catch {} // a failing disk: the next write reports it
  };
  // The background jobs' commits (roll-ups, heartbeat, retention) are marked within a tenth of a second.
  const marking = setInterval(markRead, 100);
  stops.push(() => clearInterval(marking));
  const passive = sqlite.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  checkpoint = () => void passive.get();
  stops.push(startRollupJob({ sqlite, log }).stop, startHeartbeat(sqlite, heartbeatKey).stop);
  if (retentionDays !== undefined) stops.push(startRetentionJob({ sqlite, days: retentionDays, log }).stop);
}

/** One batch in one transaction; on a row-level refusal, row by row (one bad row must not fail the rest). */
function write(id: number, rows: UsageRecord[]): void {
  try {
    writeRows!.immediate(rows);
    post({ t: "written", id, refused: [] });
    return markRead?.();
  } catch (err) {
    const kind = kindOf(err);
    if (kind !== "row") return post({ t: "failed", id, kind, message: describeSqliteError(err) });
  }
  const refused: { index: number; message: string }[] = [];
  rows.forEach((row, index) => {
    try {
      writeRows!.immediate([row]);
    } catch (err) {
      refused.push({ index, message: describeSqliteError(err) });
    }
  });
  post({ t: "written", id, refused });
  markRead?.();
}

self.onmessage = (e: MessageEvent<ToWriter>) => {
  const m = e.data;
  try {
    handle(m);
  } catch (err) {
    if ("id" in m) post({ t: "failed", id: m.id, kind: kindOf(err), message: describeSqliteError(err) });
    else if (m.t === "open") post({ t: "failed", id: 0, kind: "fault", message: describeSqliteError(err) });
  }
};

function handle(m: ToWriter): void {
  if (m.t === "open") {
    open(m.path, m.busyTimeoutMs, m.retentionDays, m.heartbeatKey);
    post({ t: "opened" });
  } else if (m.t === "write") write(m.id, JSON.parse(m.rows) as UsageRecord[]);
  else if (m.t === "probe") {
    probeWrite(sqlite!);
    markRead?.();
    post({ t: "written", id: m.id, refused: [] });
  } else if (m.t === "failures") {
    addFailures!(m.rows);
    post({ t: "written", id: m.id, refused: [] });
    markRead?.();
  } else if (m.t === "checkpoint") checkpoint!();
  else if (m.t === "stop") {
    for (const stop of stops) stop();
    try {
      checkpoint?.();
    } catch {}
    sqlite?.close();
    sqlite = undefined;
    markRead = undefined;
    post({ t: "stopped" });
  }
}
