// Several servers on one database: without shared counters a second server says, at start, that its
// limits apply per process; with Redis, the per-minute request limit is exact across them.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
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

describe("three servers sharing the request limit through Redis", () => {
  test("90 simultaneous requests spread over three servers with a 30 rpm key: exactly 30 pass; Redis down and back: served throughout, shared again", async () => {
    await awayFromMinuteEdge(20_000);
    const redis = await startRedis();
    const env = { GATEWAY_REDIS_URL: redis.url };
    const a = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env });
    const b = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
    const c = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
    try {
      expect(c.logs()).toContain("the per-minute request limit is shared through Redis");
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

      // Redis gone: every server keeps serving (per-instance counting, one warning each), no 5xx.
      await redis.stop();
      const { key: other } = await b.createKey("while-redis-is-down", 1000);
      const during = await Promise.all(servers.map((s) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${other}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) })));
      expect(during.map((r) => r.status)).toEqual([200, 200, 200]);
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
