// The customer store of a shared PostgreSQL database.
import type { SQL } from "bun";
import type { CreditEntry, Customer, CustomerStore } from "../../customers/store.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { writeUnique } from "./client.ts";
import { refillNote } from "../../customers/store.ts";

const COLUMN: Record<keyof Customer, string> = {
  id: "id",
  name: "name",
  isActive: "is_active",
  rateLimitPerMinute: "rate_limit_per_minute",
  tpmLimit: "tpm_limit",
  maxParallel: "max_parallel",
  budgetNanoUsd: "budget_nano_usd",
  budgetPeriod: "budget_period",
  prepaid: "prepaid",
  membersVersion: "members_version",
  refillNanoUsd: "refill_nano_usd",
  refillPeriod: "refill_period",
  refilledFrom: "refilled_from",
  createdAt: "created_at",
  updatedAt: "updated_at",
};
const FIELDS = Object.keys(COLUMN) as (keyof Customer)[];
const SELECT = FIELDS.map((f) => `${COLUMN[f]} AS "${f}"`).join(", ");

function toCustomer(row: Record<string, unknown>): Customer {
  for (const f of ["budgetNanoUsd", "createdAt", "updatedAt", "refillNanoUsd", "refilledFrom"] as const) if (row[f] !== null && row[f] !== undefined) row[f] = Number(row[f]);
  return row as unknown as Customer;
}

/** A customer's exact spend since `from` (a UTC midnight): its keys' whole days from the roll-up, plus a partial first day's rows. */
export async function pgCustomerSpentSince(sql: SQL, customerId: string, from: number): Promise<number> {
  const firstDay = Math.ceil(from / DAY_MS);
  const [row] = (await sql`
    SELECT (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage_daily WHERE key_id IN (SELECT id FROM api_keys WHERE customer_id = ${customerId}) AND day >= ${firstDay})
         + (SELECT coalesce(sum(cost_nano_usd), 0) FROM usage WHERE key_id IN (SELECT id FROM api_keys WHERE customer_id = ${customerId}) AND created_at >= ${from} AND created_at < ${firstDay * DAY_MS}) AS n`) as { n: string }[];
  return Number(row!.n);
}

export function pgCustomerStore(sql: SQL): CustomerStore {
  const write = writeUnique;
  return {
    async find(nameOrId) {
      const rows = ((await sql.unsafe(`SELECT ${SELECT} FROM customers WHERE id = $1 OR name = $1`, [nameOrId])) as Record<string, unknown>[]).map(toCustomer);
      return rows.find((r) => r.id === nameOrId) ?? rows[0];
    },
    list: async () => ((await sql.unsafe(`SELECT ${SELECT} FROM customers ORDER BY created_at, name`)) as Record<string, unknown>[]).map(toCustomer),
    insert: (row, by) =>
      write(() => sql.unsafe(`INSERT INTO customers (${FIELDS.map((f) => COLUMN[f]).join(", ")}, audit_actor) VALUES (${FIELDS.map((_, i) => `$${i + 1}`).join(", ")}, $${FIELDS.length + 1})`, [...FIELDS.map((f) => row[f]), by])),
    update(id, changes, by) {
      const fields = Object.keys(changes) as (keyof Customer)[];
      return write(() => sql.unsafe(`UPDATE customers SET ${fields.map((f, i) => `${COLUMN[f]} = $${i + 3}`).join(", ")}, audit_actor = $2 WHERE id = $1`, [id, by, ...fields.map((f) => changes[f])]));
    },
    // The delete trigger reads the actor from the transaction's setting (a row being deleted cannot carry it).
    delete: (id, by) =>
      sql.begin(async (tx) => {
        await tx`SELECT set_config('gateway.actor', ${by}, true)`;
        await tx`DELETE FROM customers WHERE id = ${id}`;
      }),
    keyCount: async (id) => Number(((await sql`SELECT count(*) AS n FROM api_keys WHERE customer_id = ${id} AND deleted_at IS NULL`) as { n: string }[])[0]!.n),
    spentSince: (id, from) => pgCustomerSpentSince(sql, id, from),
    credits: async (id) => Number(((await sql`SELECT coalesce(sum(amount_nano_usd), 0) AS n FROM credit_ledger WHERE customer_id = ${id}`) as { n: string }[])[0]!.n),
    async ledger(id) {
      const rows = (await sql`SELECT id, customer_id, amount_nano_usd, note, actor, created_at FROM credit_ledger WHERE customer_id = ${id} ORDER BY id`) as Record<string, string | null>[];
      return rows.map((r): CreditEntry => ({ id: Number(r.id), customerId: r.customer_id!, amountNanoUsd: Number(r.amount_nano_usd), note: r.note ?? null, actor: r.actor!, createdAt: Number(r.created_at) }));
    },
    addCredit: async (e) => void (await sql`INSERT INTO credit_ledger (customer_id, amount_nano_usd, note, actor, created_at) VALUES (${e.customerId}, ${e.amountNanoUsd}, ${e.note}, ${e.actor}, ${e.createdAt})`),
    refillOnce: (id, periodStart, target, now) =>
      sql.begin(async (tx) => {
        const claimed = (await tx`UPDATE customers SET refilled_from = ${periodStart} WHERE id = ${id} AND (refilled_from IS NULL OR refilled_from < ${periodStart}) RETURNING id`) as unknown[];
        if (claimed.length === 0) return null;
        const [row] = (await tx`SELECT coalesce((SELECT sum(amount_nano_usd) FROM credit_ledger WHERE customer_id = ${id}), 0) AS credits`) as { credits: string }[];
        const amount = target - (Number(row!.credits) - (await pgCustomerSpentSince(tx as unknown as SQL, id, 0)));
        if (amount > 0) await tx`INSERT INTO credit_ledger (customer_id, amount_nano_usd, note, actor, created_at) VALUES (${id}, ${amount}, ${refillNote(target, periodStart)}, 'refill', ${now})`;
        return Math.max(0, amount);
      }),
  };
}
