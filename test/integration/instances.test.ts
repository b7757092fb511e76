// Several servers on one database: without shared counters a second server says, at start, that its
// limits apply per process; with Redis, request, token and parallel limits are exact across them.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { promptBound } from "../../src/admission/bound.ts";
import { formatUsd } from "../../src/admission/money.ts";
import { Prices, costNanoUsd } from "../../src/usage/pricing.ts";
import { completion, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, startGateway } from "../helpers/gateway.ts";
import { startRedis } from "../helpers/redis.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

describe("several servers on one SQLite file", () => {
  test("the second server warns that limits are counted per process; a server that is gone does not count", async () => {
    const first = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    const second = await startGateway({ mode: "binary", upstreamUrl: upstream.url, dir: first.dir });
    try {
      expect(second.logs()).toContain("another gateway server is serving");
      expect(second.logs()).toContain(`:${first.pid}:`);
      expect(second.logs()).toContain("limits apply per server");
      expect(second.logs()).toContain("request, token, parallel and budget limits are counted in each process");
      expect(first.logs()).not.toContain("another gateway server");
    } finally {
      await second.stop();
      await first.stop("SIGKILL"); // its heartbeat row stays behind, but its process is gone
    }
    const third = await startGateway({ mode: "binary", upstreamUrl: upstream.url, dir: first.dir });
    try {
      expect(third.logs()).not.toContain("another gateway server");
    } finally {
      await third.stop();
    }
  });
});

/** A private Redis and three servers from the binary on one database file, sharing it. */
async function threeOnRedis() {
  const redis = await startRedis();
  const env = { GATEWAY_REDIS_URL: redis.url };
  const a = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env });
  const b = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
  const c = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
  return { redis, a, b, c };
}

describe("three servers sharing the request limit through Redis", () => {
  test("90 simultaneous requests over three servers: exactly 30 pass a 30 rpm key, 30 a TPM limit sized for 30, 5 a max_parallel of 5, 10 a budget of ten worst cases, which is never overshot; Redis down: budgets refused, the rest served; back: shared again", async () => {
    await awayFromMinuteEdge(20_000);
    const { redis, a, b, c } = await threeOnRedis();
    try {
      expect(c.logs()).toContain("limits are shared through Redis");
      expect(c.logs()).not.toContain("counted in each process");
      const { key } = await a.createKey("shared-30", 30);
      const servers = [a, b, c];
      const ask = (i: number) =>
        fetch(`${servers[i % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
      const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => ask(i)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(statuses.filter((s) => s === 429)).toHaveLength(60);
      const refused = answers.find((r) => r.status === 429)!;
      expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(a.rows()).toHaveLength(30);

      // Tokens per minute and requests in flight, while every admitted request is still running (a slow
      // upstream): each of 90 requests reserves its byte bound plus max_tokens; the limit holds exactly 30.
      // Long enough that a refused request's tokenizer recount (the tokenizer loads on first use, up to a
      // second or two on a busy box) is decided while the admitted ones still hold their reservations.
      upstream.setHandler(async (body) => {
        await Bun.sleep(4000);
        return Response.json(completion(body, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }));
      });
      const body = JSON.stringify({ model: "gpt-4o", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
      const perRequest = promptBound(body) + 100;
      const tpmKey = (await a.createKey("shared-tpm", 100_000, ["--tpm", String(30 * perRequest)])).key;
      const parKey = (await a.createKey("shared-parallel", 100_000, ["--max-parallel", "5"])).key;
      const burst = (key: string) => Promise.all(Array.from({ length: 90 }, (_, i) => fetch(`${servers[i % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body })));
      await awayFromMinuteEdge(10_000); // the steps above can take long enough to reach the next window
      const [tpm, par] = await Promise.all([burst(tpmKey), burst(parKey)]);
      expect(tpm.filter((r) => r.status === 200)).toHaveLength(30);
      expect(tpm.filter((r) => r.status === 429)).toHaveLength(60);
      expect(par.filter((r) => r.status === 200)).toHaveLength(5);
      expect(par.filter((r) => r.status === 429)).toHaveLength(85);
      expect(await par.find((r) => r.status === 429)!.json()).toMatchObject({ error: { code: "rate_limit_exceeded", message: expect.stringContaining("5 requests in flight") } });
      // A budget of ten worst cases: exactly ten of a burst of 90 are admitted while they run; then waves of
      // requests that each cost their worst case: the spend never passes the budget.
      const worst = costNanoUsd(new Prices().find(["gpt-4o"]), { promptTokens: promptBound(body), completionTokens: 100, cachedTokens: 0 })!;
      const budgetKey = await a.createKey("shared-budget", 100_000, ["--budget", (10 * worst / 1e9).toFixed(9)]);
      const burst10 = await burst(budgetKey.key);
      expect(burst10.filter((r) => r.status === 200)).toHaveLength(10);
      upstream.setHandler((b) => Response.json(completion(b, { prompt_tokens: promptBound(body), completion_tokens: 100, total_tokens: promptBound(body) + 100 })));
      let passed = 0;
      for (let wave = 0; wave < 3; wave++) {
        await Bun.sleep(2500); // settled reservations are kept 2 s after their rows commit
        const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${servers[i % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${budgetKey.key}` }, body })));
        passed += answers.filter((r) => r.status === 200).length;
      }
      expect(passed).toBe(9);
      const spent = a.rows().filter((r) => r.key_id === budgetKey.id).reduce((sum, r) => sum + (r.cost_nano_usd as number), 0);
      expect(spent).toBeLessThanOrEqual(10 * worst);
      expect(spent).toBe(10 * 75_000 + 9 * worst); // ten small answers (10 + 5 tokens of gpt-4o), nine at their worst case
      upstream.reset();
      // Slots are given back when requests end: the parallel key works again on every server.
      const again = await Promise.all(servers.map((s) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${parKey}` }, body })));
      expect(again.map((r) => r.status)).toEqual([200, 200, 200]);

      // Redis gone: every server keeps serving (per-instance counting, one warning each), no 5xx.
      await redis.stop();
      const { key: other } = await b.createKey("while-redis-is-down", 1000);
      const during = await Promise.all(servers.map((s) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${other}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) })));
      expect(during.map((r) => r.status)).toEqual([200, 200, 200]);
      // A budget shared by several servers cannot be checked without Redis: refused, clearly.
      const budgetDuring = await fetch(`${a.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${budgetKey.key}` }, body });
      expect(budgetDuring.status).toBe(503);
      expect(await budgetDuring.json()).toMatchObject({ error: { code: "budget_unavailable", message: expect.stringContaining("cannot be checked right now") } });
      for (let i = 0; i < 40 && !servers.every((s) => s.logs().includes("unreachable")); i++) await Bun.sleep(50); // log lines are written every 50 ms
      for (const s of servers) expect(s.logs()).toContain("unreachable");
      // Back: shared counting resumes by itself.
      await redis.start();
      let shared = false;
      for (let i = 0; i < 50 && !shared; i++) {
        await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${other}` } });
        shared = a.logs().includes("answers again");
        if (!shared) await Bun.sleep(200);
      }
      expect(shared).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
      await redis.stop();
    }
  });
});

describe("an instance killed under load", () => {
  test("every response a client received has exactly one row; the others keep serving; the budget's spend includes the killed instance's rows", async () => {
    const { redis, a, b, c } = await threeOnRedis();
    try {
      const key = await a.createKey("killed-under-load", 1_000_000, ["--budget", "1000"]);
      const servers = [a, b, c];
      let running = true;
      let n = 0;
      const completed: string[] = [];
      const loops = Array.from({ length: 24 }, async (_, client) => {
        while (running) {
          const id = `kill-${n++}`;
          try {
            const res = await fetch(`${servers[client % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "x-request-id": id }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
            if (res.status === 200 && (await res.text()).includes("chat.completion")) completed.push(id);
          } catch {} // the killed instance's connections
        }
      });
      while (completed.length < 600) await Bun.sleep(20);
      await b.stop("SIGKILL");
      await Bun.sleep(500);
      running = false;
      await Promise.all(loops);

      const rows = a.rows().filter((r) => r.key_id === key.id);
      const count = new Map<string, number>();
      for (const r of rows) count.set(r.request_id as string, (count.get(r.request_id as string) ?? 0) + 1);
      expect([...count.values()].every((x) => x === 1)).toBe(true);
      expect(completed.filter((id) => count.get(id) !== 1)).toEqual([]);
      expect(completed.length).toBeGreaterThan(600);
      for (const s of [a, c]) {
        const res = await fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "x-request-id": `after-${s.pid}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
        expect(res.status).toBe(200);
        await res.text();
      }
      // The last admission read the spend from the database: every row but its own, the killed instance's included.
      const all = a.rows().filter((r) => r.key_id === key.id);
      const spentBefore = all.filter((r) => r.request_id !== `after-${c.pid}`).reduce((sum, r) => sum + (r.cost_nano_usd as number), 0);
      const view = (await (await fetch(`${c.url}/v1/key`, { headers: { authorization: `Bearer ${key.key}` } })).json()) as { spent_usd: string };
      expect(view.spent_usd).toBe(formatUsd(spentBefore));
    } finally {
      await Promise.all([a.stop(), c.stop()]);
      await redis.stop();
    }
  });
});
