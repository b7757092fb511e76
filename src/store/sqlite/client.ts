import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { embeddedMigrations } from "../migrations.macro.ts" with { type: "macro" };
import * as schema from "./schema.ts";
import { ApiError, classifyErrorsWith, UserError } from "../../errors.ts";
import { UniqueViolation } from "../../keys/store.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export interface OpenDatabaseOptions {
  path: string;
  busyTimeoutMs: number;
  /** Only `serve` and `create-key` may create a database; every other command needs one to exist. */
  create?: boolean;
}

const MIGRATIONS = embeddedMigrations();

/** Opens (creating if needed) the database, sets pragmas and applies pending migrations. */
export function openDatabase({ path, busyTimeoutMs, create = true }: OpenDatabaseOptions): Db {
  if (!create && !existsSync(path)) throw new UserError(`no database at ${path} (set GATEWAY_DB or --db)`);
  let sqlite: Database;
  try {
    sqlite = new Database(path, { create, strict: true });
    // busy_timeout first: everything after it may meet another process's lock.
    sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // 1 KB pages for new files: a one-row usage commit then appends a quarter of the WAL bytes.
    // page_size only takes effect before the first write, so existing files keep theirs.
    if (sqlite.query<{ page_count: number }, []>("PRAGMA page_count").get()?.page_count === 0) sqlite.run("PRAGMA page_size = 1024");
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

/**
 * Proves the database takes writes (a read-only file or directory, a full disk): one tiny transaction.
 * Throws the SQLite error when it cannot commit.
 */
export function probeWrite(sqlite: Database, now = Date.now()): void {
  sqlite.run(`INSERT INTO meta (key, value) VALUES ('last_write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(now)]);
}

/**
 * Runs a write on the server's connection (busy_timeout 0) and, while another process holds the write
 * lock, tries again after short sleeps: the waiting happens between event-loop turns, never inside SQLite.
 */
export async function retryBusy<T>(fn: () => T | Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 100)) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      await Bun.sleep(pause);
    }
  }
}

// The event loop never waits for another process's lock (reads almost never meet one): a 503 to retry.
classifyErrorsWith((err) => (isBusy(err) ? new ApiError(503, "The database is busy; retry shortly.", "server_error", "database_busy", null, { "retry-after": "1" }) : undefined));

/** Runs a write; a unique constraint it breaks (a name or value taken meanwhile) becomes UniqueViolation. */
export function writeUnique(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (String((err as Error).message).includes("UNIQUE")) throw new UniqueViolation((err as Error).message);
    throw err;
  }
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

export function describeSqliteError(err: unknown): string {
  if (isBusy(err)) return "database is locked by another process";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}
