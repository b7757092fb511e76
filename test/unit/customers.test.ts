// The customer store's parts that are arithmetic: a customer's spend is its keys' spend, and a refill tops
// the balance up to its amount once per period (a second claim of the same period writes nothing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openPostgres } from "../../src/store/postgres/client.ts";
import { pgCustomerStore } from "../../src/store/postgres/customers.ts";
import { pgKeyStore } from "../../src/store/postgres/keys.ts";
import type { CustomerStore } from "../../src/customers/store.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { createCustomerService } from "../../src/customers/service.ts";
import { sqliteCustomerStore } from "../../src/store/sqlite/customers.ts";
import { sqliteKeyStore } from "../../src/store/sqlite/keys.ts";
import { createKeyService } from "../../src/keys/service.ts";
import { harness, TEST_SECRET } from "../helpers/harness.ts";

const DAY = 86_400_000;

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg?.stop());

/** The same store over PostgreSQL: its keys, and rows written as the recorder would (roll-up included). */
async function pgSetup() {
  const sql = await openPostgres(await pg.createDatabase());
  const store: CustomerStore = pgCustomerStore(sql);
  const customers = createCustomerService({ store });
  const keys = createKeyService({ store: pgKeyStore(sql), customers: store, secret: TEST_SECRET, bcryptCost: 4 });
  const spend = async (keyId: string, nano: number, at: number) => {
    await sql`INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, cost_nano_usd, estimated, upstream_status, latency_ms, streamed, created_at) VALUES (${crypto.randomUUID()}, ${keyId}, 'm', 'p', 1, 1, ${nano}, false, 200, 1, false, ${at})`;
    await sql`INSERT INTO usage_daily (day, key_id, model, requests, prompt_tokens, completion_tokens, cost_nano_usd, unpriced_requests, estimated_requests) VALUES (${Math.floor(at / DAY)}, ${keyId}, 'm', 1, 1, 1, ${nano}, 0, 0)`;
  };
  return { store, customers, keys, spend, close: () => sql.close() };
}

function setup() {
  const h = harness();
  const store = sqliteCustomerStore(h.db);
  const customers = createCustomerService({ store });
  const keys = createKeyService({ store: sqliteKeyStore(h.db), customers: store, secret: TEST_SECRET, bcryptCost: 4 });
  const spend = (keyId: string, nano: number, at: number) =>
    h.db.$client.run(
      "INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, cost_nano_usd, estimated, upstream_status, latency_ms, streamed, created_at) VALUES (?, ?, 'm', 'p', 1, 1, ?, 0, 200, 1, 0, ?)",
      [crypto.randomUUID(), keyId, nano, at],
    );
  return { h, store, customers, keys, spend };
}

describe("customers", () => {
  test("a customer's spend is its keys' spend (a moved key takes its spend along); credits and balance add up", async () => {
    const { store, customers, keys, spend } = setup();
    const c = await customers.create({ name: "acme", prepaid: true });
    const a = await keys.create({ name: "a", customer: "acme" });
    const b = await keys.create({ name: "b", customer: c.id });
    const other = await keys.create({ name: "other" });
    spend(a.id, 300, Date.now());
    spend(b.id, 200, Date.now());
    spend(other.id, 1000, Date.now());
    expect(await store.spentSince(c.id, 0)).toBe(500);
    await customers.addCredits("acme", { amountUsd: "0.000001", note: "first" });
    expect(await customers.credits("acme")).toMatchObject({ credits_usd: "0.000001", spent_usd: "0.0000005", balance_usd: "0.0000005" });
    await keys.update("b", { customer: null });
    expect(await store.spentSince(c.id, 0)).toBe(300);
    expect((await customers.get("acme")).keys).toBe(1);
    await expect(customers.addCredits("acme", { amountUsd: "0" })).rejects.toThrow("amount must be more than 0");
    await expect(customers.addCredits("acme", { amountUsd: "-0.0000002" })).resolves.toMatchObject({ credits_usd: "0.0000008" });
  });

  for (const dialect of ["sqlite", "postgres"] as const) {
    test(`${dialect}: a refill tops the balance up to its amount once per period, whoever asks twice; nothing is written when the balance is already there`, async () => {
      const { store, customers, keys, spend, close } = dialect === "sqlite" ? { ...setup(), close: async () => {} } : await pgSetup();
      try {
        const c = await customers.create({ name: "refilled", prepaid: true, refillUsd: "2", refillPeriod: "day" });
        const k = await keys.create({ name: "k", customer: "refilled" });
        const day1 = 20_000 * DAY;
        expect(await store.refillOnce(c.id, day1, 2e9, day1 + 5)).toBe(2e9);
        expect(await store.refillOnce(c.id, day1, 2e9, day1 + 6)).toBeNull();
        await spend(k.id, 0.5e9, day1 + 1000);
        expect(await store.refillOnce(c.id, day1 + DAY, 2e9, day1 + DAY + 5)).toBe(0.5e9);
        await customers.addCredits("refilled", { amountUsd: "10", by: "cli" });
        expect(await store.refillOnce(c.id, day1 + 2 * DAY, 2e9, day1 + 2 * DAY + 5)).toBe(0);
        const ledger = (await customers.credits("refilled")).ledger;
        expect(ledger.map((e) => [e.amount_usd, e.actor])).toEqual([["2.00", "refill"], ["0.50", "refill"], ["10.00", "cli"]]);
        expect(ledger[0]!.note).toBe("refill to $2.00 for the period from 2024-10-04");
        expect((await customers.get("refilled")).balance_usd).toBe("12.00");
        // Two servers asking at once for a new period: one entry.
        const both = await Promise.all([store.refillOnce(c.id, day1 + 3 * DAY, 20e9, day1 + 3 * DAY), store.refillOnce(c.id, day1 + 3 * DAY, 20e9, day1 + 3 * DAY)]);
        expect(both.filter((x) => x === null)).toHaveLength(1);
        expect((await customers.credits("refilled")).ledger).toHaveLength(4);
      } finally {
        await close();
      }
    });
  }
});
