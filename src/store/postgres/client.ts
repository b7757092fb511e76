import type { SQL } from "bun";
import { embeddedMigrations } from "../migrations.macro.ts" with { type: "macro" };
import { ApiError, classifyErrorsWith, UserError } from "../../errors.ts";
import { UniqueViolation } from "../../keys/store.ts";

const MIGRATIONS = embeddedMigrations("postgres");
// pg_advisory_xact_lock key: N instances starting at once on an empty database apply migrations one
// after the other (the later ones find nothing left to do).
const MIGRATION_LOCK = 7_243_105_001;

/** The URL as it may be shown: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}

export interface OpenPostgresOptions {
  /** Connections in the pool. */
  max?: number;
  /** Give up connecting after this long. */
  connectTimeoutMs?: number;
}

/** Connects (a pool), applies pending migrations under an advisory lock, and returns the pool. */
export async function openPostgres(url: string, { max = 10, connectTimeoutMs = 5000 }: OpenPostgresOptions = {}): Promise<SQL> {
  let sql: SQL;
  try {
    // A usage row is acknowledged to the customer once committed: never on a server set to commit lazily.
    sql = new Bun.SQL({ url, max, connectionTimeout: Math.ceil(connectTimeoutMs / 1000), idleTimeout: 60, connection: { synchronous_commit: "on", application_name: "llm-gateway" } });
    await migrate(sql);
  } catch (err) {
    throw new UserError(`cannot use PostgreSQL at ${redactUrl(url)}: ${describePgError(err)}`);
  }
  return sql;
}

async function migrate(sql: SQL): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
    const [last] = (await tx`SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1`) as { created_at: string }[];
    for (const m of MIGRATIONS) {
      if (last && Number(last.created_at) >= m.when) continue;
      for (const stmt of m.statements) await tx.unsafe(stmt);
      await tx`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (${m.hash}, ${m.when})`;
    }
  });
}

/** A PostgreSQL error as one line (never the URL: it may hold a password). */
export function describePgError(err: unknown): string {
  const e = err as { message?: string; code?: string; errno?: string };
  const msg = (e?.message ?? String(err)).split("\n")[0]!;
  return e?.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

/** PostgreSQL's unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: string };
  return e?.errno === "23505" || e?.code === "23505" || /duplicate key value/.test(String((err as Error)?.message));
}

/** Runs a write; a unique constraint it breaks (a name or value taken meanwhile) becomes UniqueViolation. */
export async function writeUnique(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation((err as Error).message);
    throw err;
  }
}

/**
 * PostgreSQL cannot be reached or is shutting down (as opposed to a refused statement): the client
 * should retry. Bun's connection errors, and SQLSTATE classes 08 (connection), 53 (resources), 57
 * (operator intervention, e.g. a restart).
 */
classifyErrorsWith((err) => (isPgUnavailable(err) ? new ApiError(503, "The database cannot be reached; retry shortly.", "server_error", "database_unavailable", null, { "retry-after": "1" }) : undefined));

export function isPgUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (typeof e?.code !== "string" || !e.code.startsWith("ERR_POSTGRES_")) return false;
  if (e.code !== "ERR_POSTGRES_SERVER_ERROR") return !/SYNTAX|INVALID|UNSUPPORTED|NOT_TAGGED|OVERFLOW/.test(e.code);
  return typeof e.errno === "string" && /^(08|53|57)/.test(e.errno);
}
