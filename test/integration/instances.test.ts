// Several servers on one database: without shared counters a second server says, at start, that its
// limits apply per process; with Redis, request, token and parallel limits are exact across them.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { promptBound } from "../../src/admission/admit.ts";
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

describe("three servers sharing the request limit through Redis", () => {
  test("90 simultaneous requests over three servers: exactly 30 pass a 30 rpm key, 30 a TPM limit sized for 30, 5 a max_parallel of 5; Redis down and back: served throughout, shared again", async () => {
    await awayFromMinuteEdge(20_000);
    const redis = await startRedis();
    const env = { GATEWAY_REDIS_URL: redis.url };
    const a = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env });
    const b = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
    const c = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, dir: a.dir });
    try {
      expect(c.logs()).toContain("request, token and parallel limits are shared through Redis");
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
      upstream.setHandler(async (body) => {
        await Bun.sleep(1500);
        return Response.json(completion(body, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }));
      });
      const body = JSON.stringify({ model: "gpt-4o", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
      const perRequest = promptBound(body) + 100;
      const tpmKey = (await a.createKey("shared-tpm", 100_000, ["--tpm", String(30 * perRequest)])).key;
      const parKey = (await a.createKey("shared-parallel", 100_000, ["--max-parallel", "5"])).key;
      const burst = (key: string) => Promise.all(Array.from({ length: 90 }, (_, i) => fetch(`${servers[i % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body })));
      const [tpm, par] = await Promise.all([burst(tpmKey), burst(parKey)]);
      expect(tpm.filter((r) => r.status === 200)).toHaveLength(30);
      expect(tpm.filter((r) => r.status === 429)).toHaveLength(60);
      expect(par.filter((r) => r.status === 200)).toHaveLength(5);
      expect(par.filter((r) => r.status === 429)).toHaveLength(85);
      expect(await par.find((r) => r.status === 429)!.json()).toMatchObject({ error: { code: "rate_limit_exceeded", message: expect.stringContaining("5 requests in flight") } });
      upstream.reset();
      // Slots are given back when requests end: the parallel key works again on every server.
      const again = await Promise.all(servers.map((s) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${parKey}` }, body })));
      expect(again.map((r) => r.status)).toEqual([200, 200, 200]);

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
