import { pgWebhookStore } from "./webhooks.ts";
import { pgAuditStore } from "./audit.ts";
import { pgFailures } from "../failures.ts";
import { pgKeyRows } from "./key-rows.ts";
import { pgKeyStore, pgSpentSince } from "./keys.ts";
import { pgCustomerSpentSince, pgCustomerStore } from "./customers.ts";
import { customerOfSubject } from "../../admission/subjects.ts";
import { createPgUsageRecorder } from "./recorder.ts";
import { startPgRetentionJob } from "./retention.ts";
import { pgUsageQueries } from "./usage.ts";
import { openPostgres, redactUrl } from "./client.ts";
import type { ReaderStorage, Storage, StorageOptions } from "../types.ts";

/**
 * PostgreSQL shared by every instance: a connection pool, key rows cached while change notifications
 * arrive, usage rows and their roll-ups written together in group commits.
 */
export async function openPgStorage(url: string, { health, log, clock, onCommit, usageRetentionDays }: StorageOptions): Promise<Storage> {
  const sql = await openPostgres(url);
  const keyRows = pgKeyRows({ sql, log });
  await keyRows.ready;
  const recorder = createPgUsageRecorder({ sql, health, log, onCommit });
  const failures = pgFailures(sql);
  const retention = usageRetentionDays === undefined ? undefined : startPgRetentionJob({ sql, days: usageRetentionDays, clock, log });
  return {
    where: redactUrl(url),
    keys: pgKeyStore(sql),
    customers: pgCustomerStore(sql),
    audit: pgAuditStore(sql),
    webhooks: pgWebhookStore(sql),
    usage: pgUsageQueries(sql),
    keyRows,
    recorder,
    loadSpent(subject, from) {
      const customer = customerOfSubject(subject);
      return customer === null ? pgSpentSince(sql, subject, from) : pgCustomerSpentSince(sql, customer, from);
    },
    addFailures: (rows) => failures.add(rows),
    retryWrites: async (fn) => fn(),
    others: [],
    gauges: { unfoldedRows: () => 0, walBytes: () => 0 },
    async close() {
      await recorder.drain();
      recorder.stop();
      retention?.stop();
      await keyRows.stop();
      await sql.close({ timeout: 5 });
    },
  };
}

/** A request thread's pool (serve --workers): keys, reports, key rows kept fresh by notifications; rows go to the primary. */
export async function openPgReader(url: string, log: (line: string) => void): Promise<ReaderStorage> {
  const sql = await openPostgres(url, { max: 4 });
  const keyRows = pgKeyRows({ sql, log });
  await keyRows.ready;
  return {
    keys: pgKeyStore(sql),
    customers: pgCustomerStore(sql),
    audit: pgAuditStore(sql),
    webhooks: pgWebhookStore(sql),
    usage: pgUsageQueries(sql),
    keyRows,
    retryWrites: async (fn) => fn(),
    async close() {
      await keyRows.stop();
      await sql.close({ timeout: 5 });
    },
  };
}
