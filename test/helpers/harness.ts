import { join } from "node:path";
import { openDatabase, type Db } from "../../src/store/sqlite/client.ts";
import { createKeyService, type KeyService } from "../../src/keys/service.ts";
import { sqliteKeyStore } from "../../src/store/sqlite/keys.ts";
import { tempDir } from "./tmp.ts";

export const TEST_SECRET = "test-secret-0123456789abcdef";

export interface Harness {
  dir: string;
  dbPath: string;
  db: Db;
  keys: KeyService;
}

/** A fresh SQLite file in a temp dir with the key service over it (bcrypt cost 4 keeps tests quick). */
export function harness(): Harness {
  const dir = tempDir();
  const dbPath = join(dir, "gateway.db");
  const db = openDatabase({ path: dbPath, busyTimeoutMs: 5000 });
  return { dir, dbPath, db, keys: createKeyService({ store: sqliteKeyStore(db), secret: TEST_SECRET, bcryptCost: 4 }) };
}
