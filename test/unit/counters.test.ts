// The in-process counters behind admission: what each limit admits and refuses, and that a ticket's
// reservation becomes spend exactly once.
import { describe, expect, test } from "bun:test";
import { createMemoryCounters, type Admission, type KeyLimits } from "../../src/admission/counters.ts";

const NOW = Date.parse("2026-12-06T10:00:30Z");
const limits = (l: Partial<KeyLimits>): KeyLimits => ({ keyId: "k", tpmLimit: null, maxParallel: null, budgetNanoUsd: null, budgetPeriod: "month", ...l });
const ok = (a: Admission) => {
  if (!a.ok) throw new Error(`refused: ${a.reason}`);
  return a.ticket;
};

describe("memory counters", () => {
  test("budget: admitted while spent + reserved + the estimate fits; spend replaces the reservation when the row commits", async () => {
    const c = createMemoryCounters({ loadSpent: () => 100 });
    const key = limits({ budgetNanoUsd: 1000 });
    await c.ready(key, NOW);
    const a = ok(await c.admit(key, { tokens: 0, costNanoUsd: 600 }, NOW));
    expect(await c.admit(key, { tokens: 0, costNanoUsd: 400 }, NOW)).toEqual({ ok: false, reason: "budget_reserved" });
    a.settle({ tokens: 0, costNanoUsd: 250, createdAt: NOW });
    a.settle({ tokens: 0, costNanoUsd: 250, createdAt: NOW }); // a second settle changes nothing
    expect(c.snapshot(key, NOW).budget).toMatchObject({ spentNano: 350, reservedNano: 0 });
    ok(await c.admit(key, { tokens: 0, costNanoUsd: 650 }, NOW)).release();
    expect(await c.admit(key, { tokens: 0, costNanoUsd: 651 }, NOW)).toEqual({ ok: false, reason: "budget_exhausted" });
  });

  test("tokens per minute: the window resets at the minute; a request larger than the limit can never fit", async () => {
    const c = createMemoryCounters({ loadSpent: () => 0 });
    const key = limits({ tpmLimit: 100 });
    ok(await c.admit(key, { tokens: 80, costNanoUsd: 0 }, NOW)).settle({ tokens: 60, costNanoUsd: 0, createdAt: NOW });
    expect(await c.admit(key, { tokens: 50, costNanoUsd: 0 }, NOW)).toMatchObject({ ok: false, reason: "tpm" });
    ok(await c.admit(key, { tokens: 40, costNanoUsd: 0 }, NOW));
    ok(await c.admit(key, { tokens: 90, costNanoUsd: 0 }, NOW + 30_000)); // the next minute
    expect(await c.admit(key, { tokens: 101, costNanoUsd: 0 }, NOW + 30_000)).toEqual({ ok: false, reason: "tpm_never_fits" });
  });

  test("requests in flight: a slot is freed by settle or release, once", async () => {
    const c = createMemoryCounters({ loadSpent: () => 0 });
    const key = limits({ maxParallel: 2 });
    const a = ok(await c.admit(key, { tokens: 0, costNanoUsd: 0 }, NOW));
    ok(await c.admit(key, { tokens: 0, costNanoUsd: 0 }, NOW));
    expect(await c.admit(key, { tokens: 0, costNanoUsd: 0 }, NOW)).toEqual({ ok: false, reason: "parallel" });
    a.release();
    a.release();
    const b = ok(await c.admit(key, { tokens: 0, costNanoUsd: 0 }, NOW));
    expect(c.snapshot(key, NOW).inFlight).toBe(2);
    b.settle({ tokens: 0, costNanoUsd: 0, createdAt: NOW });
    expect(c.snapshot(key, NOW).inFlight).toBe(1);
  });

  test("a cost settled after its period ended is not this period's spend", async () => {
    const c = createMemoryCounters({ loadSpent: () => 0 });
    const key = limits({ budgetNanoUsd: 1000, budgetPeriod: "day" });
    await c.ready(key, NOW);
    const t = ok(await c.admit(key, { tokens: 0, costNanoUsd: 500 }, NOW));
    const tomorrow = NOW + 86_400_000;
    t.settle({ tokens: 0, costNanoUsd: 500, createdAt: NOW });
    await c.ready(key, tomorrow);
    expect(c.snapshot(key, tomorrow).budget).toMatchObject({ spentNano: 0, reservedNano: 0 });
  });
});
