// What the services need from a database, per dialect (SQLite embedded, PostgreSQL shared). Services
// never ask which one they have: server.ts and the CLI open one and hand its parts out.
import type { Overview } from "../dashboard/overview.ts";
import type { ApiKey } from "../db/schema.ts";
import type { StorageHealth } from "../db/storage-health.ts";
import type { FailureCount } from "../observe/failures.ts";
import type { KeyRowSource } from "../keys/verifier.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { Report, ReportQuery } from "../usage/analytics.ts";
import type { RequestsPage, RequestsQuery } from "../usage/requests.ts";

/** A write lost to a unique constraint (a name or key value taken meanwhile). */
export class UniqueViolation extends Error {}

/** Rows of `api_keys` and the database's secret fingerprint. */
export interface KeyStore {
  /** Keys whose id or name is `nameOrId` (deleted ones included). */
  find(nameOrId: string): Promise<ApiKey[]>;
  /** The key that has this name, deleted or not. */
  nameOwner(name: string): Promise<{ id: string; deletedAt: number | null } | undefined>;
  /** True when a key's current or previous value has this lookup digest. */
  valueTaken(lookup: string): Promise<boolean>;
  insert(row: ApiKey): Promise<void>;
  update(id: string, changes: Partial<ApiKey>): Promise<void>;
  /** Every key, oldest first. */
  list(): Promise<ApiKey[]>;
  /** A key's exact spend (nano-dollars) since `from`. */
  spentSince(keyId: string, from: number): Promise<number>;
  /** When the key's latest request was recorded (its day, once retention deleted the rows), or null. */
  lastUsed(keyId: string): Promise<number | null>;
  /** The lookup secret's fingerprint, stored by the first process that had one; `fingerprint` when none was. */
  claimSecret(fingerprint: string): Promise<string>;
  /** True once the database has keys or a secret fingerprint. */
  secretInUse(): Promise<boolean>;
}

export interface StoredResponse {
  provider: string;
  tokens: number;
}

/** The reads of usage: reports, request records, the dashboard's overview. */
export interface UsageQueries {
  report(q: ReportQuery): Promise<Report>;
  requests(q: RequestsQuery): Promise<RequestsPage>;
  overview(now: number): Promise<Overview>;
  /**
   * A Responses API answer, for the key that created it only: the provider that served it, and its prompt
   * plus completion tokens (what continuing its conversation adds to a prompt, at most).
   */
  storedResponse(responseId: string, keyId: string): Promise<StoredResponse | undefined>;
  /**
   * Output items of Responses API answers, for the key that created them only: the sum of their answers'
   * completion tokens when this key created every one of `itemIds`, else undefined.
   */
  itemTokens(itemIds: string[], keyId: string): Promise<number | undefined>;
}

/** Everything the server keeps in its database, opened and closed as one. */
export interface Storage {
  /** For the start-up line: the file, or the URL without its password. */
  where: string;
  keys: KeyStore;
  usage: UsageQueries;
  keyRows: KeyRowSource;
  recorder: UsageRecorder;
  /** Spend committed for a key since `from`, exact (budgets). */
  loadSpent(keyId: string, from: number): number | Promise<number>;
  /** Adds failed-request counts (the dashboard's failures over time). */
  addFailures(rows: FailureCount[]): void | Promise<void>;
  /** Other gateway servers known to share this database (the per-process limits warning). */
  others: string[];
  /** Metrics read at scrape time. */
  gauges: { unfoldedRows(): number; walBytes(): number };
  /** After the server stopped: flushes the rows still queued, stops background work, closes. */
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
