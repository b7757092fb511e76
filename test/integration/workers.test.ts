// serve --workers 2: two threads serve one port, and every limit stays exact across them without Redis
// (the primary owns the counters); rows are one per answer, also when the whole server is killed.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { promptBound } from "../../src/admission/bound.ts";
import { Prices, costNanoUsd } from "../../src/usage/pricing.ts";
import { completion, sseResponse, streamEvents, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { SQL } from "bun";
import { awayFromMinuteEdge, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startRedis } from "../helpers/redis.ts";

setDefaultTimeout(90_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

const METRICS_TOKEN = "metrics-token-0123456789";
const BODY = JSON.stringify({ model: "gpt-4o", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });

const ask = (gw: TestGateway, key: string, body = BODY, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, ...headers }, body });
const burst = (gw: TestGateway, key: string, n = 90, body = BODY) => Promise.all(Array.from({ length: n }, () => ask(gw, key, body)));
const statuses = (answers: Response[], status: number) => answers.filter((r) => r.status === status).length;

/** Requests each thread answered, from /metrics. */
async function perThread(gw: TestGateway): Promise<number[]> {
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return [...text.matchAll(/^gateway_worker_requests_total\{worker="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
}

const twoWorkers = () => startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_WORKERS: "2", GATEWAY_METRICS_TOKEN: METRICS_TOKEN } });

describe("serve --workers 2", () => {
  test("90 simultaneous requests: exactly 30 pass a 30 rpm key, 30 a TPM limit sized for 30, 5 a max_parallel of 5 (never more at the upstream), 10 a budget of ten worst cases, which is never overshot; both threads serve", async () => {
    await awayFromMinuteEdge(20_000);
    const gw = await twoWorkers();
    try {
      expect(gw.logs()).toContain("2 threads");
      const rpm = await gw.createKey("rpm-30", 30);
      const answers = await burst(gw, rpm.key);
      expect(statuses(answers, 200)).toBe(30);
      expect(statuses(answers, 429)).toBe(60);
      expect(answers.find((r) => r.status === 429)!.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(gw.rows().filter((r) => r.key_id === rpm.id)).toHaveLength(30);
      const served = await perThread(gw);
      expect(served).toHaveLength(2);
      expect(served.every((n) => n > 0)).toBe(true);
      // One access line per request, whichever thread served it.
      const accessLines = () => gw.logs().split("\n").filter((l) => l.includes('"msg":"request"') && l.includes(rpm.id)).length;
      for (const until = Date.now() + 5000; accessLines() < 90 && Date.now() < until; ) await Bun.sleep(50);
      expect(accessLines()).toBe(90);

      // A slow upstream: every admitted request holds its reservation while the burst is decided.
      // The parallel key's requests say so, and the upstream counts how many of them it holds at once.
      const parBody = JSON.stringify({ model: "gpt-4o", max_tokens: 100, messages: [{ role: "user", content: "parallel" }] });
      let open = 0;
      let most = 0;
      upstream.setHandler(async (body) => {
        const mine = JSON.stringify(body).includes('"parallel"');
        if (mine) most = Math.max(most, ++open);
        await Bun.sleep(3000);
        if (mine) open--;
        return Response.json(completion(body, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }));
      });
      const perRequest = promptBound(BODY) + 100;
      const tpm = await gw.createKey("tpm-30", 100_000, ["--tpm", String(30 * perRequest)]);
      const par = await gw.createKey("parallel-5", 100_000, ["--max-parallel", "5"]);
      await awayFromMinuteEdge(10_000);
      const [t, p] = await Promise.all([burst(gw, tpm.key), burst(gw, par.key, 90, parBody)]);
      expect(statuses(t, 200)).toBe(30);
      expect(statuses(t, 429)).toBe(60);
      expect(statuses(p, 200)).toBe(5);
      expect(statuses(p, 429)).toBe(85);
      expect(await p.find((r) => r.status === 429)!.json()).toMatchObject({ error: { code: "rate_limit_exceeded", message: expect.stringContaining("5 requests in flight") } });
      expect(most).toBe(5);

      // A budget of ten worst cases: ten of 90 while they run; then waves of requests that each cost their
      // worst case: exactly as many as the rest holds, never more.
      const worst = costNanoUsd(new Prices().find(["gpt-4o"]), { promptTokens: promptBound(BODY), completionTokens: 100, cachedTokens: 0 })!;
      const budget = await gw.createKey("budget-10", 100_000, ["--budget", ((10 * worst) / 1e9).toFixed(9)]);
      expect(statuses(await burst(gw, budget.key), 200)).toBe(10);
      upstream.setHandler((b) => Response.json(completion(b, { prompt_tokens: promptBound(BODY), completion_tokens: 100, total_tokens: promptBound(BODY) + 100 })));
      let passed = 0;
      for (let wave = 0; wave < 3; wave++) passed += statuses(await Promise.all(Array.from({ length: 6 }, () => ask(gw, budget.key))), 200);
      expect(passed).toBe(9);
      const spent = gw.rows().filter((r) => r.key_id === budget.id).reduce((sum, r) => sum + (r.cost_nano_usd as number), 0);
      expect(spent).toBeLessThanOrEqual(10 * worst);
      expect(spent).toBe(10 * 75_000 + 9 * worst);
      const refused = await ask(gw, budget.key);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ error: { code: "insufficient_quota" } });

      // Slots come back when requests end: the parallel key works again, on whichever thread.
      upstream.reset();
      expect((await burst(gw, par.key, 5, parBody)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    } finally {
      upstream.reset();
      await gw.stop();
    }
  });

  test("a customer's limits hold across its two keys and both threads: 30 of 90 at 30 rpm, 5 in flight, a prepaid balance of ten worst cases", async () => {
    await awayFromMinuteEdge(20_000);
    const gw = await twoWorkers();
    try {
      expect((await gw.cli(["create-customer", "threaded-co", "--rate-limit", "30"])).code).toBe(0);
      expect((await gw.cli(["create-customer", "slow-co", "--max-parallel", "5", "--prepaid"])).code).toBe(0);
      const worst = costNanoUsd(new Prices().find(["gpt-4o"]), { promptTokens: promptBound(BODY), completionTokens: 100, cachedTokens: 0 })!;
      expect((await gw.cli(["credits", "add", "slow-co", ((10 * worst) / 1e9).toFixed(9)])).code).toBe(0);
      const keys = await Promise.all(["a", "b"].map((n) => gw.createKey(`threaded-${n}`, 100_000, ["--customer", "threaded-co"])));
      const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => ask(gw, keys[i % 2]!.key)));
      expect(statuses(answers, 200)).toBe(30);
      const slow = await Promise.all(["a", "b"].map((n) => gw.createKey(`slow-${n}`, 100_000, ["--customer", "slow-co"])));
      upstream.setHandler(async (body) => {
        await Bun.sleep(2000);
        return Response.json(completion(body, { prompt_tokens: promptBound(BODY), completion_tokens: 100, total_tokens: promptBound(BODY) + 100 }));
      });
      let passed = 0;
      for (let wave = 0; wave < 3; wave++) passed += statuses(await Promise.all(Array.from({ length: 40 }, (_, i) => ask(gw, slow[i % 2]!.key))), 200);
      expect(passed).toBe(10); // 5 at a time (in flight), then the balance: ten worst cases in all
      const spent = gw.rows().filter((r) => r.key_id === slow[0]!.id || r.key_id === slow[1]!.id).reduce((n, r) => n + (r.cost_nano_usd as number), 0);
      expect(spent).toBe(10 * worst);
    } finally {
      upstream.reset();
      await gw.stop();
    }
  });

  test("a key disabled with the CLI is refused by every thread at once; GET /v1/key and /health answer from both", async () => {
    const gw = await twoWorkers();
    try {
      const k = await gw.createKey("to-disable", 100_000);
      expect(statuses(await burst(gw, k.key, 20), 200)).toBe(20);
      expect((await gw.cli(["disable-key", "to-disable"])).code).toBe(0);
      const after = await burst(gw, k.key, 40);
      expect(after.map((r) => r.status)).toEqual(Array(40).fill(403));
      const health = await Promise.all(Array.from({ length: 20 }, () => fetch(`${gw.url}/health`).then((r) => r.json())));
      for (const h of health) expect(h).toMatchObject({ status: "ok", writer: { pending_rows: expect.any(Number) } });
    } finally {
      await gw.stop();
    }
  });

  test("SIGTERM: requests in flight on both threads finish with their rows; SIGKILL under load: every answer a client received has exactly one row", async () => {
    const gw = await twoWorkers();
    const k = await gw.createKey("load", 1_000_000, ["--budget", "1000"]);
    upstream.setHandler(async (body) => {
      await Bun.sleep(1500);
      return Response.json(completion(body));
    });
    const slow = Array.from({ length: 12 }, (_, i) => ask(gw, k.key, BODY, { "x-request-id": `term-${i}` }));
    await Bun.sleep(400);
    const code = gw.stop("SIGTERM");
    const answers = await Promise.all(slow);
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(await code).toBe(0);
    expect(gw.rows().filter((r) => String(r.request_id).startsWith("term-"))).toHaveLength(12);

    upstream.setHandler((body) => (body.stream ? sseResponse(streamEvents(body), 2) : Response.json(completion(body))));
    const again = await startGateway({ mode: "binary", upstreamUrl: upstream.url, dir: gw.dir, env: { GATEWAY_WORKERS: "2" } });
    let running = true;
    let n = 0;
    const completed: string[] = [];
    const loops = Array.from({ length: 24 }, async (_, client) => {
      while (running) {
        const id = `kill-${n++}`;
        const stream = client % 2 === 0;
        try {
          const res = await ask(again, k.key, JSON.stringify({ model: "gpt-4o", stream, messages: [{ role: "user", content: "hi" }] }), { "x-request-id": id });
          const text = await res.text();
          if (res.status === 200 && (stream ? text.includes("[DONE]") : text.includes("chat.completion"))) completed.push(id);
        } catch {} // the killed server's connections
      }
    });
    try {
      const deadline = Date.now() + 30_000;
      while (completed.length < 600 && Date.now() < deadline) await Bun.sleep(20);
      await again.stop("SIGKILL");
    } finally {
      running = false;
      await Promise.all(loops);
      upstream.reset();
    }
    const count = new Map<string, number>();
    for (const r of again.rows()) count.set(r.request_id as string, (count.get(r.request_id as string) ?? 0) + 1);
    expect(completed.length).toBeGreaterThanOrEqual(600);
    expect(completed.filter((id) => count.get(id) !== 1)).toEqual([]);
    expect([...count.values()].every((x) => x === 1)).toBe(true);
  });
});

describe("serve --workers 2 on PostgreSQL + Redis", () => {
  test("two servers of two threads each: exactly 30 of 90 simultaneous requests pass a 30 rpm key, one row each in PostgreSQL; a key disabled there is refused by every thread", async () => {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    const url = await pg.createDatabase();
    const env = { GATEWAY_DATABASE_URL: url, GATEWAY_REDIS_URL: redis.url, GATEWAY_WORKERS: "2", GATEWAY_METRICS_TOKEN: METRICS_TOKEN };
    const servers = await Promise.all([0, 1].map(() => startGateway({ mode: "binary", upstreamUrl: upstream.url, env })));
    const sql = new SQL(url);
    try {
      await awayFromMinuteEdge(15_000);
      const k = await servers[0]!.createKey("pg-threads", 30);
      const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => ask(servers[i % 2]!, k.key)));
      expect(statuses(answers, 200)).toBe(30);
      expect(statuses(answers, 429)).toBe(60);
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM usage WHERE key_id = ${k.id}`;
      expect(n).toBe(30);
      for (const s of servers) expect((await perThread(s)).every((x) => x > 0)).toBe(true);
      await sql`UPDATE api_keys SET is_active = false WHERE id = ${k.id}`;
      let refused = false;
      for (let i = 0; i < 50 && !refused; i++) {
        refused = (await ask(servers[0]!, k.key)).status === 403;
        if (!refused) await Bun.sleep(100);
      }
      const after = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(servers[i % 2]!, k.key)));
      expect(after.map((r) => r.status)).toEqual(Array(40).fill(403));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await sql.close();
      await Promise.all([pg.stop(), redis.stop()]);
    }
  });
});
