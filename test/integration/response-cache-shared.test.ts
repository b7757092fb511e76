// The response cache of several instances on PostgreSQL + Redis: an answer cached by one server is a hit
// on another (stored in Redis with its TTL, its row in PostgreSQL); with Redis gone, requests are
// answered by the provider as without a cache. And the key's cache TTL from the CLI and the admin API.
import { RedisClient, SQL } from "bun";
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

setDefaultTimeout(90_000);

const upstream = startFakeUpstream();
const ADMIN = "shared-cache-admin-token-0123456789abcd";
let pg: TestPostgres;
let redis: TestRedis;
let servers: TestGateway[];
let sql: SQL;

beforeAll(async () => {
  pg = await startPostgres();
  redis = await startRedis();
  const env = { GATEWAY_DATABASE_URL: await pg.createDatabase(), GATEWAY_REDIS_URL: redis.url, GATEWAY_ADMIN_TOKEN: ADMIN };
  servers = [await startGateway({ mode: "binary", upstreamUrl: upstream.url, env })];
  servers.push(await startGateway({ mode: "binary", upstreamUrl: upstream.url, env }));
  sql = new SQL(env.GATEWAY_DATABASE_URL);
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  await sql.close();
  await redis.stop();
  await pg.stop();
  await upstream.stop();
});

const chat = (gw: TestGateway, key: string, content: string) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content }] }) });
const calls = () => upstream.received.filter((r) => r.path.endsWith("/chat/completions")).length;

test("the key's cache TTL: set from the CLI and the admin API, shown, refused when it is not a duration, cleared", async () => {
  const [a] = servers;
  const made = await a!.cli(["create-key", "ttl-key", "--generate", "--cache-ttl", "2h"]);
  expect(made.stdout).toContain("Response cache: answers kept 7200 s");
  const bad = await a!.cli(["update-key", "ttl-key", "--cache-ttl", "soon"]);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("cache TTL must be a duration such as 1h or 7d");
  const patch = (body: unknown) => fetch(`${a!.url}/admin/keys/ttl-key`, { method: "PATCH", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(((await (await patch({ cache_ttl: 60 })).json()) as { cache_ttl_s: number }).cache_ttl_s).toBe(60);
  const refused = await patch({ cache_ttl: 0 });
  expect(refused.status).toBe(400);
  expect(((await (await patch({ cache_ttl: null })).json()) as { cache_ttl_s: number | null }).cache_ttl_s).toBeNull();
  expect((await a!.cli(["update-key", "ttl-key", "--no-cache"])).code).toBe(0);
});

test("an answer cached by one server is a hit on the other: stored in Redis with its TTL, both rows in PostgreSQL", async () => {
  const [a, b] = servers;
  const { id, key } = await a!.createKey("shared-cache", undefined, ["--cache-ttl", "10m"]);
  const before = calls();
  expect((await chat(a!, key, "Shared?")).headers.get("x-gateway-cache")).toBe("miss");
  const client = new RedisClient(redis.url);
  const keys = (await client.send("KEYS", ["gw:cache:*"])) as string[];
  expect(keys.length).toBe(1);
  const ttl = Number(await client.send("PTTL", [keys[0]!]));
  expect(ttl).toBeGreaterThan(590_000);
  expect(ttl).toBeLessThanOrEqual(600_000);
  client.close();
  const hit = await chat(b!, key, "Shared?");
  expect(hit.headers.get("x-gateway-cache")).toBe("hit");
  expect(calls() - before).toBe(1);
  const rows = (await sql`SELECT cache_hit, cost_nano_usd, saved_nano_usd FROM usage WHERE key_id = ${id} ORDER BY id`) as { cache_hit: boolean; cost_nano_usd: string; saved_nano_usd: string | null }[];
  expect(rows.map((r) => [r.cache_hit, Number(r.cost_nano_usd)])).toEqual([[false, Number(rows[0]!.cost_nano_usd)], [true, 0]]);
  expect(Number(rows[1]!.saved_nano_usd)).toBe(Number(rows[0]!.cost_nano_usd));
  expect(Number(rows[0]!.cost_nano_usd)).toBeGreaterThan(0);
});

test("with Redis stopped, the cache misses and the provider answers: nothing fails", async () => {
  const [a] = servers;
  const { key } = await a!.createKey("cache-no-redis", undefined, ["--cache-ttl", "10m"]);
  await redis.stop();
  const before = calls();
  for (let i = 0; i < 2; i++) {
    const res = await chat(a!, key, "Redis gone");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gateway-cache")).toBe("miss");
  }
  expect(calls() - before).toBe(2);
});
