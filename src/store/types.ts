// What the services need from a database, per dialect (SQLite embedded, PostgreSQL shared). Services
// never ask which one they have: server.ts and the CLI open one and hand its parts out.
import type { OverviewQuery } from "../dashboard/overview.ts";
import type { StorageHealth } from "../usage/health.ts";
import type { FailureCount } from "../observe/failures.ts";
import type { KeyRowSource } from "../keys/verifier.ts";
import type { UsageRecorder } from "../usage/record.ts";
import type { KeyStore } from "../keys/store.ts";
import type { CustomerStore } from "../customers/store.ts";
import type { AuditStore } from "../audit/store.ts";
import type { WebhookStore } from "../webhooks/store.ts";
import type { UsageQueries } from "../usage/queries.ts";
import type { ResponseCacheStore } from "../cache/store.ts";

/** Everything the server keeps in its database, opened and closed as one. */
export interface Storage {
  /** For the start-up line: the file, or the URL without its password. */
  where: string;
  keys: KeyStore;
  customers: CustomerStore;
  audit: AuditStore;
  webhooks: WebhookStore;
  usage: UsageQueries & OverviewQuery;
  keyRows: KeyRowSource;
  recorder: UsageRecorder;
  /** Spend committed for a key — or a customer's subject (admission/subjects.ts) — since `from`, exact (budgets). */
  loadSpent(keyId: string, from: number): number | Promise<number>;
  /** Runs a write, retrying it while the database is busy, within the configured bound. */
  retryWrites<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Adds failed-request counts (the dashboard's failures over time). */
  addFailures(rows: FailureCount[]): void | Promise<void>;
  /** Other gateway servers known to share this database (the per-process limits warning). */
  others: string[];
  /** The response cache's table (SQLite; with PostgreSQL the cache lives in Redis). */
  responseCache?: ResponseCacheStore;
  /** Metrics read at scrape time. */
  gauges: { unfoldedRows(): number; walBytes(): number };
  /** After the server stopped: flushes the rows still queued, stops background work, closes. */
  close(): Promise<void>;
}

/** What a request thread of serve --workers opens: everything but the writing of rows (the primary's). */
export interface ReaderStorage extends Pick<Storage, "keys" | "customers" | "audit" | "webhooks" | "usage" | "keyRows" | "retryWrites" | "responseCache"> {
  close(): Promise<void>;
}

export interface StorageOptions {
  health: StorageHealth;
  log: (line: string) => void;
  clock: () => number;
  /** After each group commit of usage rows. */
  onCommit: (rows: number, seconds: number) => void;
  usageRetentionDays: number | undefined;
  /** Requests the server is handling now. */
  inFlight: () => number;
}
