// The customer store of the embedded SQLite database.
import { asc, eq, or, sql } from "drizzle-orm";
import { writeUnique, type Db } from "./client.ts";
import { refillNote, type CustomerStore } from "../../customers/store.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { creditLedger, customers } from "./schema.ts";

/** A customer's spend since `from`: its keys' days folded into the roll-up plus the rows above the watermark. */
export function customerSpentSince(db: Db, customerId: string, from: number): number {
  const row = db.$client
    .query<{ n: number }, [string, number, string, number]>(
      `SELECT (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage_daily WHERE key_id IN (SELECT id FROM api_keys WHERE customer_id = ?1) AND day >= ?2)
            + (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage WHERE id > (SELECT coalesce(max(last_usage_id), 0) FROM rollup_state)
                 AND +key_id IN (SELECT id FROM api_keys WHERE customer_id = ?3) AND +created_at >= ?4) AS n`,
    )
    .get(customerId, Math.floor(from / DAY_MS), customerId, from);
  return row?.n ?? 0;
}

export function sqliteCustomerStore(db: Db): CustomerStore {
  const write = writeUnique;
  return {
    async find(nameOrId) {
      const rows = db.select().from(customers).where(or(eq(customers.id, nameOrId), eq(customers.name, nameOrId))).all();
      return rows.find((r) => r.id === nameOrId) ?? rows[0];
    },
    list: async () => db.select().from(customers).orderBy(asc(customers.createdAt), asc(customers.name)).all(),
    insert: async (row, by) => write(() => db.insert(customers).values({ ...row, auditActor: by }).run()),
    update: async (id, changes, by) => write(() => db.update(customers).set({ ...changes, auditActor: by }).where(eq(customers.id, id)).run()),
    // The actor is written first (no audited field changes, so no entry) for the delete trigger to read.
    delete: async (id, by) =>
      db.$client
        .transaction(() => {
          db.update(customers).set({ auditActor: by }).where(eq(customers.id, id)).run();
          db.delete(customers).where(eq(customers.id, id)).run();
        })
        .immediate(),
    keyCount: async (id) => db.$client.query<{ n: number }, [string]>("SELECT count(*) AS n FROM api_keys WHERE customer_id = ? AND deleted_at IS NULL").get(id)!.n,
    spentSince: async (id, from) => db.$client.transaction(() => customerSpentSince(db, id, from)).deferred(),
    credits: async (id) => db.select({ n: sql<number>`coalesce(sum(${creditLedger.amountNanoUsd}), 0)` }).from(creditLedger).where(eq(creditLedger.customerId, id)).get()!.n,
    ledger: async (id) => db.select().from(creditLedger).where(eq(creditLedger.customerId, id)).orderBy(asc(creditLedger.id)).all(),
    addCredit: async (entry) => void db.insert(creditLedger).values(entry).run(),
    refillOnce: async (id, periodStart, target, now) =>
      db.$client
        .transaction(() => {
          const claimed = db.$client.query("UPDATE customers SET refilled_from = ?1 WHERE id = ?2 AND (refilled_from IS NULL OR refilled_from < ?1)").run(periodStart, id);
          if (claimed.changes === 0) return null;
          const credits = db.$client.query<{ n: number }, [string]>("SELECT coalesce(sum(amount_nano_usd), 0) AS n FROM credit_ledger WHERE customer_id = ?").get(id)!.n;
          const amount = target - (credits - customerSpentSince(db, id, 0));
          if (amount > 0) db.insert(creditLedger).values({ customerId: id, amountNanoUsd: amount, note: refillNote(target, periodStart), actor: "refill", createdAt: now }).run();
          return Math.max(0, amount);
        })
        .immediate(),
  };
}
