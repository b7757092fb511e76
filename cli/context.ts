import { loadBaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { loadSecret } from "../src/keys/secret.ts";
import { createKeyService, secretInUse } from "../src/keys/service.ts";
import type { StrictArgs } from "./args.ts";

/**
 * Opens the database named by --db / GATEWAY_DB and returns the key service over it. Only `create`
 * (create-key) may create the database; no command makes up a secret for a database that has keys.
 */
export function openKeys(flags: StrictArgs["flags"], { create = false }: { create?: boolean } = {}) {
  const config = loadBaseConfig({ db: flags.db as string | undefined });
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs, create });
  const secret = loadSecret(config.secret, config.secretFile, { mayCreate: !secretInUse(db) });
  return { db, keys: createKeyService({ db, secret, adminToken: config.adminToken }) };
}
