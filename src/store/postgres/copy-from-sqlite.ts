// `gateway migrate-db`: an existing SQLite database copied into an empty PostgreSQL one, then checked.
import type { SQL } from "bun";
import type { Db } from "../sqlite/client.ts";
import { UserError } from "../../errors.ts";
import { createRollupStep } from "../sqlite/rollup.ts";

const TABLES = {
  // The audit log first, its triggers off while the rest is copied: the copy is no one's change.
  audit_log: ["id", "at", "actor", "action", "subject_type", "subject_id", "subject_name", "before", "after"],
  customers: ["id", "name", "is_active", "rate_limit_per_minute", "tpm_limit", "max_parallel", "budget_nano_usd", "budget_period", "prepaid", "members_version", "refill_nano_usd", "refill_period", "refilled_from", "created_at", "updated_at"],
  credit_ledger: ["id", "customer_id", "amount_nano_usd", "note", "actor", "created_at"],
  webhook_events: ["id", "type", "subject", "dedupe", "data", "created_at"],
  webhook_deliveries: ["event_id", "endpoint", "subject", "status", "attempts", "next_at", "lease_until", "last_error", "done_at"],
  webhook_cursors: ["endpoint", "last_event_id"],
  key_shares: ["token_hash", "key_id", "sealed", "created_at", "expires_at", "claimed_at", "claimed_from"],
  api_keys: ["id", "name", "key_hash", "lookup", "rate_limit_per_minute", "is_active", "created_at", "updated_at", "budget_nano_usd", "budget_period", "tpm_limit", "max_parallel", "expires_at", "allowed_models", "deleted_at", "previous_lookup", "previous_key_hash", "previous_valid_until", "hint", "allowed_ips", "max_output_tokens", "customer_id", "cache_ttl_s"],
  meta: ["key", "value"],
  response_items: ["item_id", "key_id", "tokens", "created_at"],
  usage: ["id", "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at", "attempts", "response_id", "cache_write_tokens", "over_bound", "cache_hit", "saved_nano_usd"],
  usage_daily: ["day", "key_id", "model", "requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests", "cache_hits", "saved_nano_usd"],
  usage_daily_key: ["day", "key_id", "requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests", "cache_hits", "saved_nano_usd"],
  usage_daily_model: ["day", "model", "requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests", "cache_hits", "saved_nano_usd"],
} as const;
type Table = keyof typeof TABLES;
const AUDIT_TRIGGERS = [["api_keys", "api_keys_audit"], ["customers", "customers_audit"], ["credit_ledger", "credit_ledger_audit"], ["key_shares", "key_shares_audit"], ["audit_log", "audit_log_key_events"]] as const;
const BOOLEAN = new Set(["is_active", "estimated", "streamed", "over_bound", "prepaid", "cache_hit"]);
// Rows of the server's own bookkeeping that mean nothing in another database.
const LOCAL_META = "key NOT LIKE 'server:%' AND key <> 'last_write_probe'";

/** What is compared on both sides once copied: a count and, where there is money, sums. */
const CHECKS: Record<Table, string> = {
  audit_log: "count(*) AS n, coalesce(sum(id), 0) AS a, 0 AS b",
  customers: "count(*) AS n, coalesce(sum(budget_nano_usd), 0) AS a, 0 AS b",
  credit_ledger: "count(*) AS n, coalesce(sum(amount_nano_usd), 0) AS a, 0 AS b",
  key_shares: "count(*) AS n, 0 AS a, 0 AS b",
  webhook_events: "count(*) AS n, coalesce(sum(id), 0) AS a, 0 AS b",
  webhook_deliveries: "count(*) AS n, coalesce(sum(event_id), 0) AS a, coalesce(sum(attempts), 0) AS b",
  webhook_cursors: "count(*) AS n, coalesce(sum(last_event_id), 0) AS a, 0 AS b",
  api_keys: "count(*) AS n, 0 AS a, 0 AS b",
  meta: "count(*) AS n, 0 AS a, 0 AS b",
  response_items: "count(*) AS n, coalesce(sum(tokens), 0) AS a, 0 AS b",
  usage: "count(*) AS n, coalesce(sum(cost_nano_usd), 0) AS a, coalesce(sum(prompt_tokens + completion_tokens), 0) AS b",
  usage_daily: "count(*) AS n, coalesce(sum(requests), 0) AS a, coalesce(sum(cost_nano_usd), 0) AS b",
  usage_daily_key: "count(*) AS n, coalesce(sum(requests), 0) AS a, coalesce(sum(cost_nano_usd), 0) AS b",
  usage_daily_model: "count(*) AS n, coalesce(sum(requests), 0) AS a, coalesce(sum(cost_nano_usd), 0) AS b",
};

export interface CopyReport {
  table: Table;
  rows: number;
}

/**
 * Folds the SQLite database's last rows into its roll-ups (PostgreSQL keeps them current with every
 * row, and raw rows removed by retention survive only there), copies every table in one PostgreSQL
 * transaction, moves the id sequence past the copied rows, and compares counts and sums of each
 * table. Refuses a PostgreSQL database that already has keys or usage.
 */
export async function copyToPostgres(db: Db, sql: SQL, { batch = 1000, progress = (_: string) => {} } = {}): Promise<CopyReport[]> {
  const [found] = (await sql`SELECT (SELECT count(*) FROM api_keys) + (SELECT count(*) FROM usage) AS n`) as { n: string }[];
  if (Number(found!.n) > 0) throw new UserError("the PostgreSQL database already has keys or usage: migrate-db copies into an empty database only");
  const fold = createRollupStep(db.$client);
  while (fold() > 0);
  const report: CopyReport[] = [];
  await sql.begin(async (tx) => {
    for (const [table, trigger] of AUDIT_TRIGGERS) await tx.unsafe(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
    for (const table of Object.keys(TABLES) as Table[]) {
      const columns = TABLES[table];
      // Pages by rowid (every table has one): each page is an index seek, however large the table.
      const local = table === "meta" ? ` AND ${LOCAL_META}` : "";
      const read = db.$client.query<Record<string, unknown>, [number, number]>(`SELECT rowid AS _rowid, ${columns.join(", ")} FROM ${table} WHERE rowid > ?${local} ORDER BY rowid LIMIT ?`);
      let copied = 0;
      for (let after = 0; ; ) {
        const rows = read.all(after, batch);
        if (rows.length === 0) break;
        after = rows.at(-1)!._rowid as number;
        const params = rows.flatMap((r) => columns.map((c) => (BOOLEAN.has(c) ? r[c] === 1 || r[c] === true : r[c])));
        const values = rows.map((_, i) => `(${columns.map((_, j) => `$${i * columns.length + j + 1}`).join(", ")})`).join(", ");
        await tx.unsafe(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}`, params);
        copied += rows.length;
        if (copied % 100_000 === 0) progress(`${table}: ${copied} rows`);
      }
      report.push({ table, rows: copied });
    }
    for (const table of ["usage", "credit_ledger", "audit_log", "webhook_events"]) await tx.unsafe(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), greatest((SELECT max(id) FROM ${table}), 1))`);
    for (const [table, trigger] of AUDIT_TRIGGERS) await tx.unsafe(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
  });
  for (const table of Object.keys(TABLES) as Table[]) {
    const where = table === "meta" ? ` WHERE ${LOCAL_META}` : "";
    const mine = db.$client.query<{ n: number; a: number; b: number }, []>(`SELECT ${CHECKS[table]} FROM ${table}${where}`).get()!;
    const [theirs] = (await sql.unsafe(`SELECT ${CHECKS[table]} FROM ${table}${where}`)) as { n: string; a: string; b: string }[];
    if (Number(theirs!.n) !== mine.n || Number(theirs!.a) !== mine.a || Number(theirs!.b) !== mine.b) {
      throw new UserError(`after copying, ${table} differs: SQLite has ${mine.n} rows (sums ${mine.a}, ${mine.b}), PostgreSQL ${theirs!.n} (${theirs!.a}, ${theirs!.b})`);
    }
  }
  return report;
}
