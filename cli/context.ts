import type { SQL } from "bun";
import { loadBaseConfig, type BaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { UserError } from "../src/errors.ts";
import { loadSecret } from "../src/keys/secret.ts";
import { createKeyService } from "../src/keys/service.ts";
import { pgKeyStore } from "../src/store/pg-keys.ts";
import { pgUsageQueries } from "../src/store/pg-usage.ts";
import { openPostgres } from "../src/store/postgres.ts";
import { sqliteKeyStore, sqliteSecretInUse } from "../src/store/sqlite-keys.ts";
import { sqliteUsageQueries } from "../src/store/sqlite-usage.ts";
import type { KeyStore } from "../src/keys/store.ts";
import type { UsageQueries } from "../src/usage/queries.ts";
import type { StrictArgs } from "./args.ts";

/**
 * Opens the database the server uses — PostgreSQL with GATEWAY_DATABASE_URL, else the SQLite file of
 * --db / GATEWAY_DB — and returns the key service and usage reports over it. Only `create`
 * (create-key) may create a SQLite database; no command makes up a secret for a database that has keys.
 */
export async function openKeys(flags: StrictArgs["flags"], { create = false }: { create?: boolean } = {}): Promise<{ keys: ReturnType<typeof createKeyService>; usage: UsageQueries; close(): Promise<void> }> {
  const config = loadBaseConfig({ db: flags.db as string | undefined });
  const opened = config.databaseUrl === undefined ? openSqlite(config, create) : await openPg(config);
  const keys = createKeyService({ store: opened.store, secret: opened.secret, adminToken: config.adminToken });
  try {
    await keys.ready;
  } catch (err) {
    await opened.close();
    throw err;
  }
  return { keys, usage: opened.usage, close: opened.close };
}

interface Opened {
  store: KeyStore;
  usage: UsageQueries;
  secret: string;
  close(): Promise<void>;
}

function openSqlite(config: BaseConfig, create: boolean): Opened {
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs, create });
  const secret = loadSecret(config.secret, config.secretFile, { mayCreate: !sqliteSecretInUse(db) });
  return { store: sqliteKeyStore(db), usage: sqliteUsageQueries(db), secret, close: async () => db.$client.close() };
}

async function openPg(config: BaseConfig): Promise<Opened> {
  if (config.secret === undefined) throw new UserError("with GATEWAY_DATABASE_URL, set GATEWAY_SECRET: the same secret every instance uses");
  const sql: SQL = await openPostgres(config.databaseUrl!, { max: 2 });
  return { store: pgKeyStore(sql), usage: pgUsageQueries(sql), secret: loadSecret(config.secret, config.secretFile), close: () => sql.close({ timeout: 2 }) };
}

/** Runs `fn` with the key service, then closes the database (a PostgreSQL pool would keep the process alive). */
export async function withKeys<T>(flags: StrictArgs["flags"], fn: (keys: ReturnType<typeof createKeyService>) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  const { keys, close } = await openKeys(flags, opts);
  try {
    return await fn(keys);
  } finally {
    await close();
  }
}
