import { loadBaseConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { loadSecret } from "../src/keys/secret.ts";
import { createKeyService } from "../src/keys/service.ts";
import type { StrictArgs } from "./args.ts";

/** Opens the database named by --db / GATEWAY_DB and returns the key service over it. */
export function openKeys(flags: StrictArgs["flags"]) {
  const config = loadBaseConfig({ db: flags.db as string | undefined });
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs });
  const secret = loadSecret(config.secret, config.secretFile);
  return { db, keys: createKeyService({ db, secret, adminToken: config.adminToken }) };
}
