// The one place that chooses the database: PostgreSQL with GATEWAY_DATABASE_URL, else the SQLite file.
// The server opens it for serving (openStorage), the CLI for key commands and reports (openStores); both
// take the lookup secret by the same rule (storageSecret).
import type { SQL } from "bun";
import { existsSync } from "node:fs";
import type { BaseConfig } from "../config.ts";
import type { Db } from "./sqlite/client.ts";
import { openDatabase } from "./sqlite/client.ts";
import { UserError } from "../errors.ts";
import { loadSecret } from "../keys/secret.ts";
import type { KeyStore } from "../keys/store.ts";
import type { UsageQueries } from "../usage/queries.ts";
import { pgKeyStore } from "./postgres/keys.ts";
import { openPgReader, openPgStorage } from "./postgres/storage.ts";
import { pgUsageQueries } from "./postgres/usage.ts";
import { openPostgres } from "./postgres/client.ts";
import { sqliteKeyStore, sqliteSecretInUse } from "./sqlite/keys.ts";
import { sqliteCustomerStore } from "./sqlite/customers.ts";
import { pgCustomerStore } from "./postgres/customers.ts";
import type { CustomerStore } from "../customers/store.ts";
import type { AuditStore } from "../audit/store.ts";
import { sqliteAuditStore } from "./sqlite/audit.ts";
import { pgAuditStore } from "./postgres/audit.ts";
import type { WebhookStore } from "../webhooks/store.ts";
import { sqliteWebhookStore } from "./sqlite/webhooks.ts";
import { pgWebhookStore } from "./postgres/webhooks.ts";
import { openSqliteReader, openSqliteStorage } from "./sqlite/storage.ts";
import { sqliteUsageQueries } from "./sqlite/usage.ts";
import type { ReaderStorage, Storage, StorageOptions } from "./types.ts";

/** The database for serving: usage recorder, roll-ups, retention, key rows, reports. */
export async function openStorage(config: BaseConfig, options: StorageOptions): Promise<Storage & { db?: Db }> {
  if (config.databaseUrl === undefined) return openSqliteStorage(config.dbPath, config.busyTimeoutMs, options);
  return openPgStorage(config.databaseUrl, options);
}

/** A request thread's connection to the database (serve --workers); the primary thread opened it for serving. */
export async function openReader(config: BaseConfig, log: (line: string) => void): Promise<ReaderStorage> {
  if (config.databaseUrl === undefined) return openSqliteReader(config.dbPath, config.busyTimeoutMs);
  return openPgReader(config.databaseUrl, log);
}

/** The database for one CLI command: keys and usage reports, and the lookup secret. Only `create` may create a SQLite file. */
export async function openStores(config: BaseConfig, { create = false }: { create?: boolean } = {}): Promise<{ keys: KeyStore; customers: CustomerStore; audit: AuditStore; webhooks: WebhookStore; usage: UsageQueries; secret: string; close(): Promise<void> }> {
  if (config.databaseUrl === undefined) {
    const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs, create });
    try {
      const secret = await storageSecret(config, async () => sqliteSecretInUse(db));
      return { keys: sqliteKeyStore(db), customers: sqliteCustomerStore(db), audit: sqliteAuditStore(db), webhooks: sqliteWebhookStore(db), usage: sqliteUsageQueries(db), secret, close: async () => db.$client.close() };
    } catch (err) {
      db.$client.close();
      throw err;
    }
  }
  const secret = await storageSecret(config, async () => true);
  const sql: SQL = await openPostgres(config.databaseUrl, { max: 2 });
  return { keys: pgKeyStore(sql), customers: pgCustomerStore(sql), audit: pgAuditStore(sql), webhooks: pgWebhookStore(sql), usage: pgUsageQueries(sql), secret, close: () => sql.close({ timeout: 2 }) };
}

/**
 * The lookup secret: GATEWAY_SECRET, else GATEWAY_SECRET_FILE. A SQLite database without keys may have its
 * file created; PostgreSQL never (every instance and the CLI must share one secret, it cannot be made up).
 */
export async function storageSecret(config: BaseConfig, secretInUse: () => Promise<boolean>): Promise<string> {
  if (config.databaseUrl === undefined) return loadSecret(config.secret, config.secretFile, { mayCreate: !(await secretInUse()) });
  if (config.secret === undefined && !existsSync(config.secretFile)) {
    throw new UserError("with GATEWAY_DATABASE_URL, set GATEWAY_SECRET (at least 16 characters, the same for every instance and the CLI) or GATEWAY_SECRET_FILE");
  }
  return loadSecret(config.secret, config.secretFile, { mayCreate: false });
}
