// What the server's thread and the SQLite writer's thread (writer-thread.ts) say to each other.
import type { UsageRecord } from "../../usage/record.ts";
import type { FailureCount } from "../../observe/failures.ts";

export type ToWriter =
  | { t: "open"; path: string; busyTimeoutMs: number; retentionDays: number | undefined; heartbeatKey: string }
  // The rows as JSON: a string crosses threads at a third of the cost of cloning the objects.
  | { t: "write"; id: number; rows: string }
  | { t: "probe"; id: number }
  | { t: "failures"; id: number; rows: FailureCount[] }
  | { t: "checkpoint" }
  | { t: "stop" };

/** Why a write failed: another process's lock, the storage itself, or one row the database refused. */
export interface WriteFailure {
  kind: "busy" | "fault" | "row";
  message: string;
}

export type FromWriter =
  | { t: "opened" }
  | { t: "written"; id: number; refused: { index: number; message: string }[] }
  | ({ t: "failed"; id: number } & WriteFailure)
  | { t: "log"; line: string }
  | { t: "stopped" };
