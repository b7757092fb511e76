import { loadBaseConfig } from "../src/config.ts";
import { openStores } from "../src/store/open.ts";
import { createKeyService } from "../src/keys/service.ts";
import { createCustomerService, type CustomerService } from "../src/customers/service.ts";
import type { UsageQueries } from "../src/usage/queries.ts";
import type { StrictArgs } from "./args.ts";
import { createAuditService, type AuditService } from "../src/audit/service.ts";
import { hostname, userInfo } from "node:os";

/** Who makes the CLI's changes, for the audit log: the OS user and host. */
export function cliActor(): string {
  let user = process.env.USER ?? "unknown";
  try {
    user = userInfo().username;
  } catch {} // no passwd entry (some containers): the environment's name
  return `cli:${user}@${hostname()}`;
}

/**
 * Opens the database the server uses — PostgreSQL with GATEWAY_DATABASE_URL, else the SQLite file of
 * --db / GATEWAY_DB — and returns the key service and usage reports over it. Only `create`
 * (create-key) may create a SQLite database; no command makes up a secret for a database that has keys.
 */
export async function openKeys(flags: StrictArgs["flags"], { create = false }: { create?: boolean } = {}): Promise<{ keys: ReturnType<typeof createKeyService>; usage: UsageQueries; close(): Promise<void> }> {
  const config = loadBaseConfig({ db: flags.db as string | undefined });
  const opened = await openStores(config, { create });
  const keys = createKeyService({ store: opened.keys, customers: opened.customers, secret: opened.secret, adminTokens: config.adminToken === undefined ? [] : [config.adminToken], publicUrl: config.publicUrl ?? `http://localhost:${process.env.PORT ?? 8080}`, actor: cliActor() });
  try {
    await keys.ready;
  } catch (err) {
    await opened.close();
    throw err;
  }
  return { keys, usage: opened.usage, close: opened.close };
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

/** Runs `fn` with the customer service, then closes the database. */
export async function withCustomers<T>(flags: StrictArgs["flags"], fn: (customers: CustomerService) => Promise<T>, { create = false }: { create?: boolean } = {}): Promise<T> {
  const config = loadBaseConfig({ db: flags.db as string | undefined });
  const opened = await openStores(config, { create });
  try {
    return await fn(createCustomerService({ store: opened.customers, actor: cliActor() }));
  } finally {
    await opened.close();
  }
}

/** Runs `fn` with the audit log, then closes the database. */
export async function withAudit<T>(flags: StrictArgs["flags"], fn: (audit: AuditService) => Promise<T>): Promise<T> {
  const opened = await openStores(loadBaseConfig({ db: flags.db as string | undefined }));
  try {
    return await fn(createAuditService({ store: opened.audit }));
  } finally {
    await opened.close();
  }
}
