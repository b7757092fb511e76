import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { embeddedMigrations } from "./migrations.macro.ts" with { type: "macro" };
import * as schema from "./schema.ts";
import { UserError } from "../errors.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export interface OpenDatabaseOptions {
  path: string;
  busyTimeoutMs: number;
}

const MIGRATIONS = embeddedMigrations();

/** Opens (creating if needed) the database, sets pragmas and applies pending migrations. */
export function openDatabase({ path, busyTimeoutMs }: OpenDatabaseOptions): Db {
  let sqlite: Database;
  try {
    sqlite = new Database(path, { create: true, strict: true });
    // busy_timeout first: everything after it may meet another process's lock.
    sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    withBusyRetry(() => sqlite.run("PRAGMA journal_mode = WAL"), busyTimeoutMs);
    sqlite.run("PRAGMA synchronous = NORMAL");
    sqlite.run("PRAGMA foreign_keys = ON");
    migrate(sqlite);
  } catch (err) {
    throw new UserError(`cannot open database ${path}: ${describeSqliteError(err)}`);
  }
  return drizzle({ client: sqlite, schema }) as Db;
}

/** Applies embedded migrations inside BEGIN IMMEDIATE so two processes starting on a fresh file cannot race. */
function migrate(sqlite: Database): void {
  sqlite.transaction(() => {
    sqlite.run(
      `CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const last = sqlite
      .query<{ created_at: number }, []>(
        `SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1`,
      )
      .get();
    for (const m of MIGRATIONS) {
      if (last && Number(last.created_at) >= m.when) continue;
      for (const stmt of m.statements) sqlite.run(stmt);
      sqlite.run(`INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)`, [m.hash, m.when]);
    }
  }).immediate();
}

// Switching a brand-new file to WAL can return SQLITE_BUSY without consulting the busy handler.
function withBusyRetry(fn: () => void, budgetMs: number): void {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      Bun.sleepSync(5);
    }
  }
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

function describeSqliteError(err: unknown): string {
  if (isBusy(err)) return "database is locked by another process";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}
