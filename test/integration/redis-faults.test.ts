// Shared counters survive Redis faults, on three servers from the binary sharing one database (a SQLite
// file, then PostgreSQL) and one Redis: a Redis that hangs past the gateway's deadline (SIGSTOP) leaves no slot or reservation that no
// request owns once it resumes, and a Redis that restarts empty under load never lets a budget be
// overshot (the servers put back what their requests in flight hold before admitting more).
import { SQL } from "bun";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { promptBound, worstCostNano } from "../../src/admission/bound.ts";
import { formatUsd } from "../../src/admission/money.ts";
import { Prices } from "../../src/usage/pricing.ts";
import { completion, sseResponse, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

setDefaultTimeout(90_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

let pg: TestPostgres | undefined;
afterAll(() => pg?.stop());

interface Three {
  redis: TestRedis;
  servers: TestGateway[];
  /** Committed spend of a key, from the database the servers share. */
  spent(keyId: string): Promise<number>;
  rows(keyId: string): Promise<number>;
  stop(): Promise<void>;
}

async function threeOnRedis(store: "sqlite" | "postgres"): Promise<Three> {
  const redis = await startRedis();
  const env: Record<string, string> = { GATEWAY_REDIS_URL: redis.url };
  let servers: TestGateway[];
  let sql: SQL | undefined;
  if (store === "postgres") {
    pg ??= await startPostgres();
    env.GATEWAY_DATABASE_URL = await pg.createDatabase();
    servers = await Promise.all([0, 1, 2].map(() => startGateway({ mode: "binary", upstreamUrl: upstream.url, env })));
    sql = new SQL(env.GATEWAY_DATABASE_URL);
  } else {
    const a = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env });
    servers = [a, await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir }), await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir })];
  }
  const rowsOf = async (keyId: string) =>
    sql
      ? ((await sql`SELECT cost_nano_usd FROM usage WHERE key_id = ${keyId}`) as { cost_nano_usd: string }[]).map((r) => Number(r.cost_nano_usd))
      : servers[0]!.rows().filter((r) => r.key_id === keyId).map((r) => Number(r.cost_nano_usd));
  return {
    redis,
    servers,
    spent: async (keyId) => (await rowsOf(keyId)).reduce((a, b) => a + b, 0),
    rows: async (keyId) => (await rowsOf(keyId)).length,
    async stop() {
      for (const s of servers) await s.stop();
      await sql?.close();
      await redis.stop();
    },
  };
}

const chat = (gw: TestGateway, key: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe.each(["sqlite", "postgres"] as const)("three servers on %s + Redis", (store) => {
  test("Redis hung for 2.5 s under load, then resumed: a max_parallel 2 key is admitted again within 3 s (no slot left that no request owns)", async () => {
    const { redis, servers, spent, rows, stop } = await threeOnRedis(store);
    try {
      const { key } = await servers[0]!.createKey("parallel-2", 100_000, ["--max-parallel", "2"]);
      upstream.setHandler(async (b) => {
        await Bun.sleep(150);
        return Response.json(completion(b));
      });
      const body = { model: "gpt-4o", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
      let loading = true;
      const load = Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          while (loading) await (await chat(servers[i % 3]!, key, body)).arrayBuffer();
        }),
      );
      await Bun.sleep(500);
      redis.pause();
      await Bun.sleep(2500);
      redis.resume();
      loading = false;
      await load;
      const resumed = Date.now();
      // Two at once must pass again: poll until they do, for at most 3 s.
      let statuses: number[] = [];
      while (Date.now() - resumed < 3000) {
        statuses = await Promise.all([0, 1].map(async (i) => (await chat(servers[i]!, key, body)).status));
        if (statuses.every((s) => s === 200)) break;
        await Bun.sleep(100);
      }
      expect(statuses).toEqual([200, 200]);
      // And the limit still holds: of 6 at once, exactly 2 pass.
      const six = await Promise.all(Array.from({ length: 6 }, async (_, i) => (await chat(servers[i % 3]!, key, body)).status));
      expect(six.filter((s) => s === 200).length).toBe(2);
    } finally {
      upstream.reset();
      await stop();
    }
  });

  test("Redis killed and restarted empty while 30 long streams hold a budget: nothing more is admitted until they end, and committed spend never passes the budget", async () => {
    const { redis, servers, spent, rows, stop } = await threeOnRedis(store);
    try {
      const body = { model: "gpt-4o", max_tokens: 100, stream: true, messages: [{ role: "user", content: "a long story" }] };
      // What each request reserves, and what the upstream then bills: exactly its worst case.
      const sent = JSON.stringify(body);
      const perRequest = worstCostNano([new Prices().find(["gpt-4o"])!], promptBound(sent), 100);
      const budget = 30 * perRequest;
      const { id, key } = await servers[0]!.createKey("budget-30", 100_000, ["--budget", formatUsd(budget), "--budget-period", "total"]);
      const usage = { prompt_tokens: promptBound(sent), completion_tokens: 100, total_tokens: promptBound(sent) + 100 };
      upstream.setHandler((b) => {
        if (b.stream !== true) return Response.json(completion(b, usage));
        const base = { id: "c", object: "chat.completion.chunk", created: 1, model: b.model };
        const events = Array.from({ length: 40 }, () => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: "word " } }] })}\n\n`);
        events.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`, "data: [DONE]\n\n");
        return sseResponse(events, 250); // ~10 s per stream
      });
      const drain = async (res: Response) => ({ status: res.status, text: await res.text() });
      const streams = Array.from({ length: 30 }, (_, i) => chat(servers[i % 3]!, key, body).then(drain));
      await Bun.sleep(1500);
      await redis.stop();
      await redis.start();
      // Right after the restart (within the servers' grace) and later (the streams' reservations put back):
      const extra: number[] = [];
      for (const wait of [300, 6000]) {
        await Bun.sleep(wait);
        const more = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(servers[i % 3]!, key, { ...body, stream: false }).then(drain)));
        extra.push(...more.map((r) => r.status));
      }
      const done = await Promise.all(streams);
      expect(done.filter((r) => r.status === 200).length).toBe(30);
      expect(extra.filter((s) => s === 200)).toEqual([]);
      expect(extra.every((s) => s === 429 || s === 503)).toBe(true);
      const deadline = Date.now() + 5000;
      while ((await rows(id)) < 30 && Date.now() < deadline) await Bun.sleep(50);
      expect(await spent(id)).toBeLessThanOrEqual(budget);
      expect(await spent(id)).toBe(budget);
    } finally {
      upstream.reset();
      await stop();
    }
  });
});
