// Three servers from the compiled binary on one PostgreSQL database and one Redis (private instances of
// Debian's packages in temp dirs): keys, rows, limits and budgets are one set for all of them.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { SQL } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promptBound } from "../../src/admission/bound.ts";
import { writeUsageRows } from "../../src/store/postgres/recorder.ts";
import { binaryIn, cleanEnv, runCli } from "../helpers/cli.ts";
import { completion, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_SECRET } from "../helpers/harness.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(90_000);

const upstream = startFakeUpstream();
let pg: TestPostgres;
let redis: TestRedis;
beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});
afterAll(async () => {
  upstream.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

/** Three servers on a fresh database of the shared PostgreSQL server, and a client of that database. */
const ADMIN = "admin-token-for-tests-0123456789";

async function threeOnPostgres() {
  const url = await pg.createDatabase();
  const env = { GATEWAY_DATABASE_URL: url, GATEWAY_REDIS_URL: redis.url, GATEWAY_ADMIN_TOKEN: ADMIN };
  // Started at once: migrations on an empty database must not race.
  const servers = await Promise.all([0, 1, 2].map(() => startGateway({ mode: "binary", upstreamUrl: upstream.url, env })));
  const sql = new SQL(url);
  return { servers, sql, url, async stop() {
    await Promise.all(servers.map((s) => s.stop()));
    await sql.close();
  } };
}

const chat = (gw: TestGateway, key: string, body: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body }) });

describe("three servers on PostgreSQL + Redis", () => {
  test("a key made with the CLI or the admin API works on every server at once; a disable (CLI, admin API, direct UPDATE) is refused everywhere on the next request; rows, roll-ups, reports, request pages and the dashboard overview come from PostgreSQL", async () => {
    const { servers, sql, stop } = await threeOnPostgres();
    const [a, b, c] = servers as [TestGateway, TestGateway, TestGateway];
    try {
      expect(a.logs()).toContain("database postgres://postgres@127.0.0.1:");
      expect(a.logs()).not.toContain("counted in each instance");
      const { id, key } = await a.createKey("pg-customer", 1000);
      // Created through a's CLI, used first on b.
      expect((await chat(b, key)).status).toBe(200);
      for (const s of servers) expect((await chat(s, key)).status).toBe(200); // every cache warm now

      // The CLI takes the secret by the server's rule: GATEWAY_SECRET_FILE works on PostgreSQL too.
      const secretFile = join(a.dir, "shared.secret");
      writeFileSync(secretFile, TEST_SECRET);
      const { GATEWAY_SECRET: _, ...withoutSecret } = a.env;
      const fromFile = await runCli(["list-keys", "--json"], { cwd: a.dir, binary: join(a.dir, "gateway"), env: { ...withoutSecret, GATEWAY_SECRET_FILE: secretFile } });
      expect(fromFile.stderr).toBe("");
      expect((JSON.parse(fromFile.stdout) as { name: string }[]).map((k) => k.name)).toEqual(["pg-customer"]);
      const disabled = await a.cli(["disable-key", "pg-customer"]);
      expect(disabled.code).toBe(0);
      for (const s of servers) {
        const r = await chat(s, key);
        expect(r.status).toBe(403);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe("api_key_disabled");
      }
      expect((await a.cli(["enable-key", "pg-customer"])).code).toBe(0);
      for (const s of servers) expect((await chat(s, key)).status).toBe(200);

      // An operator's UPDATE in psql: the trigger notifies every server, which forgets its cached row.
      await sql`UPDATE api_keys SET is_active = false WHERE name = 'pg-customer'`;
      await Bun.sleep(50); // PostgreSQL delivers the notification within milliseconds
      for (const s of servers) expect((await chat(s, key)).status).toBe(403);
      await sql`UPDATE api_keys SET is_active = true, rate_limit_per_minute = 700 WHERE name = 'pg-customer'`;
      await Bun.sleep(50);
      const relimited = await chat(c, key);
      expect(relimited.status).toBe(200);
      expect(relimited.headers.get("x-ratelimit-limit-requests")).toBe("700");

      const rows = (await sql`SELECT key_id, model_requested, prompt_tokens::int AS p, completion_tokens::int AS c, cost_nano_usd::float8 AS cost, estimated FROM usage ORDER BY id`) as { key_id: string; p: number; cost: number; estimated: boolean }[];
      expect(rows).toHaveLength(8);
      expect(rows.every((r) => r.key_id === id && r.p === 1200 && r.estimated === false)).toBe(true);
      const [rollup] = (await sql`SELECT sum(requests)::int AS n, sum(cost_nano_usd)::float8 AS cost FROM usage_daily WHERE key_id = ${id}`) as { n: number; cost: number }[];
      expect(rollup).toEqual({ n: 8, cost: rows.reduce((s, r) => s + r.cost, 0) });

      // The same report from every server and from the CLI.
      const report = (await (await fetch(`${b.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${key}` } })).json()) as { total: { requests: number } };
      expect(report.total.requests).toBe(8);
      const cli = await a.cli(["usage", "--json", "--by", "key"]);
      expect(JSON.parse(cli.stdout).total.requests).toBe(8);
      const admin = (gw: TestGateway, path: string, init: RequestInit = {}) => fetch(`${gw.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" } });
      const overview = (await (await admin(b, "/admin/overview")).json()) as { today: { requests: number; cost_usd: number }; top_keys: { name: string; requests: number }[] };
      expect(overview.today.requests).toBe(8);
      expect(overview.today.cost_usd).toBeCloseTo(rows.reduce((s, r) => s + r.cost, 0) / 1e9, 9);
      expect(overview.top_keys[0]).toMatchObject({ name: "pg-customer", requests: 8 });
      // The six 403s (two disables, seen by each of three servers) are counted once each, summed over the servers.
      const refused = async () => ((await (await admin(b, "/admin/overview")).json()) as { failures: { today: { refused: number } } }).failures.today.refused;
      const until = Date.now() + 15_000;
      while ((await refused()) < 6 && Date.now() < until) await Bun.sleep(200);
      expect(await refused()).toBe(6);
      const page = (await (await admin(c, `/admin/usage/requests?key_id=${id}&limit=5`)).json()) as { data: { key_name: string; estimated: boolean; streamed: boolean }[]; next_cursor: string | null };
      expect(page.data).toHaveLength(5);
      expect(page.data[0]).toMatchObject({ key_name: "pg-customer", estimated: false, streamed: false });
      expect(page.next_cursor).not.toBeNull();
      // A Responses API answer made through one server is found through another (its row says which provider).
      const created = (await (await fetch(`${a.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-4o", input: "hi" }) })).json()) as { id: string };
      const fetched = await fetch(`${b.url}/v1/responses/${created.id}`, { headers: { authorization: `Bearer ${key}` } });
      expect(fetched.status).toBe(200);
      expect(((await fetched.json()) as { id: string }).id).toBe(created.id);
      // Its output item (the fake names it msg_1) may be referenced by this key through any server, by no other.
      const reference = (k: string) => fetch(`${c.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${k}` }, body: JSON.stringify({ model: "gpt-4o", input: [{ type: "item_reference", id: "msg_1" }, { role: "user", content: "more" }] }) });
      expect((await reference(key)).status).toBe(200);
      const stranger = (await a.createKey("pg-stranger", 1000)).key;
      expect((await reference(stranger)).status).toBe(404);
      // A key made through one server's admin API works on another at once; a disable through it too.
      const made = (await (await admin(c, "/admin/keys", { method: "POST", body: JSON.stringify({ name: "pg-admin-made" }) })).json()) as { id: string; key: string };
      expect((await chat(a, made.key)).status).toBe(200);
      expect((await admin(b, `/admin/keys/${made.id}`, { method: "PATCH", body: JSON.stringify({ is_active: false }) })).status).toBe(200);
      expect((await chat(a, made.key)).status).toBe(403);
    } finally {
      await stop();
    }
  });

  test("90 simultaneous requests over three servers: exactly 30 pass a 30 rpm key, 30 a TPM limit sized for 30, and 5 run at once with max_parallel 5", async () => {
    await awayFromMinuteEdge(20_000);
    const { servers, sql, stop } = await threeOnPostgres();
    try {
      const { id, key } = await servers[0]!.createKey("pg-30", 30);
      const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => chat(servers[i % 3]!, key)));
      expect(answers.filter((r) => r.status === 200)).toHaveLength(30);
      expect(answers.filter((r) => r.status === 429)).toHaveLength(60);
      const [counted] = (await sql`SELECT count(*)::int AS n FROM usage WHERE key_id = ${id}`) as { n: number }[];
      expect(counted!.n).toBe(30);

      // Long enough that a refused request's tokenizer recount is decided while the admitted ones still run.
      upstream.setHandler(async (body) => {
        await Bun.sleep(4000);
        return Response.json(completion(body, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }));
      });
      const parallel = (await servers[1]!.createKey("pg-parallel", 100_000, ["--max-parallel", "5"])).key;
      // Each request reserves its prompt's byte bound plus max_tokens: the TPM limit holds exactly 30.
      const body = JSON.stringify({ model: "gpt-4o", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
      const tpm = (await servers[2]!.createKey("pg-tpm", 100_000, ["--tpm", String(30 * (promptBound(body) + 100))])).key;
      const send = (k: string, i: number) => fetch(`${servers[i % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k}` }, body });
      await awayFromMinuteEdge(10_000); // the setup above can take long enough to reach the next window
      const [burst, tokens] = await Promise.all([parallel, tpm].map((k) => Promise.all(Array.from({ length: 90 }, (_, i) => send(k, i)))));
      expect(burst!.filter((r) => r.status === 200)).toHaveLength(5);
      expect(burst!.filter((r) => r.status === 429)).toHaveLength(85);
      expect(tokens!.filter((r) => r.status === 200)).toHaveLength(30);
      expect(tokens!.filter((r) => r.status === 429)).toHaveLength(60);
    } finally {
      upstream.reset();
      await stop();
    }
  });

  test("a budget shared by three servers under concurrent load is never overshot", async () => {
    const { servers, sql, stop } = await threeOnPostgres();
    try {
      // gpt-4o: $2.50 / $10 per million tokens; each answer (10 + 50 tokens, within its max_tokens) costs $0.000525.
      upstream.setHandler((body) => Response.json(completion(body, { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 })));
      const { id, key } = await servers[0]!.createKey("pg-budget", 100_000, ["--budget", "0.01"]);
      let ok = 0;
      for (let round = 0; round < 6; round++) {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(servers[i % 3]!, key, { max_tokens: 50 })));
        ok += answers.filter((r) => r.status === 200).length;
      }
      const spent = ((await sql`SELECT coalesce(sum(cost_nano_usd), 0)::float8 AS spent FROM usage WHERE key_id = ${id}`) as { spent: number }[])[0]!.spent;
      expect(ok).toBeGreaterThan(0);
      expect(spent).toBeLessThanOrEqual(10_000_000);
      expect(ok).toBeGreaterThanOrEqual(10); // reservations are released as rows settle: most of the budget is usable
      const listed = JSON.parse((await servers[2]!.cli(["list-keys", "--json"])).stdout) as { name: string; spent_usd: string }[];
      expect(Number(listed.find((k) => k.name === "pg-budget")!.spent_usd) * 1e9).toBeCloseTo(spent, 0);
    } finally {
      upstream.reset();
      await stop();
    }
  });

  test("SIGKILL of one server under load: every response a client fully received has exactly one row, spend equals the rows, the other two keep serving", async () => {
    const { servers, sql, stop } = await threeOnPostgres();
    try {
      const { id, key } = await servers[0]!.createKey("pg-kill", 1_000_000, ["--budget", "1000"]);
      const completed: string[] = [];
      const afterKill: number[] = [];
      let killed = false;
      let running = true;
      const clients = Array.from({ length: 9 }, async (_, c) => {
        for (let i = 0; running; i++) {
          const rid = `kill-${c}-${i}`;
          try {
            const r = await fetch(`${servers[c % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-request-id": rid }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
            const text = await r.text();
            if (r.status === 200 && text.includes("Hello")) completed.push(rid);
            if (killed && c % 3 !== 0) afterKill.push(r.status);
          } catch {
            if (c % 3 === 0 && killed) break; // the killed server's clients stop
          }
        }
      });
      while (completed.length < 300) await Bun.sleep(20);
      await servers[0]!.stop("SIGKILL");
      killed = true;
      await Bun.sleep(1000);
      running = false;
      await Promise.all(clients);
      expect(afterKill.length).toBeGreaterThan(20);
      expect(afterKill.filter((s) => s !== 200)).toEqual([]);
      const counts = new Map<string, number>();
      for (const r of (await sql`SELECT request_id FROM usage WHERE key_id = ${id}`) as { request_id: string }[]) counts.set(r.request_id, (counts.get(r.request_id) ?? 0) + 1);
      for (const rid of completed) expect([rid, counts.get(rid)]).toEqual([rid, 1]);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      const [sums] = (await sql`SELECT (SELECT sum(cost_nano_usd)::float8 FROM usage WHERE key_id = ${id}) AS raw, (SELECT sum(cost_nano_usd)::float8 FROM usage_daily WHERE key_id = ${id}) AS rolled`) as { raw: number; rolled: number }[];
      expect(sums!.rolled).toBe(sums!.raw);
      const listed = JSON.parse((await servers[1]!.cli(["list-keys", "--json"])).stdout) as { name: string; spent_usd: string }[];
      expect(Math.round(Number(listed.find((k) => k.name === "pg-kill")!.spent_usd) * 1e9)).toBe(sums!.raw);
    } finally {
      await stop();
    }
  });

  test("Redis stopped and restarted under load: no 5xx but the documented budget refusals, and limits shared again afterwards", async () => {
    const { servers, stop } = await threeOnPostgres();
    try {
      const plain = (await servers[0]!.createKey("pg-redis-plain", 1_000_000)).key;
      const budgeted = (await servers[1]!.createKey("pg-redis-budget", 1_000_000, ["--budget", "1000"])).key;
      const seen: { status: number; code?: string; budgeted: boolean }[] = [];
      let running = true;
      const clients = Array.from({ length: 6 }, async (_, c) => {
        const key = c % 2 ? budgeted : plain;
        while (running) {
          const r = await chat(servers[c % 3]!, key);
          const body = (await r.json()) as { error?: { code: string } };
          seen.push({ status: r.status, code: body.error?.code, budgeted: key === budgeted });
        }
      });
      await Bun.sleep(500);
      await redis.stop();
      await Bun.sleep(1500);
      await redis.start();
      await Bun.sleep(1500);
      running = false;
      await Promise.all(clients);
      const bad = seen.filter((s) => s.status !== 200 && !(s.budgeted && s.status === 503 && s.code === "budget_unavailable"));
      expect(bad).toEqual([]);
      expect(seen.filter((s) => !s.budgeted && s.status === 200).length).toBeGreaterThan(30);
      expect(seen.filter((s) => s.code === "budget_unavailable").length).toBeGreaterThan(0);

      await awayFromMinuteEdge(10_000);
      const { key } = await servers[2]!.createKey("pg-after-redis", 30);
      const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => chat(servers[i % 3]!, key)));
      expect(answers.filter((r) => r.status === 200)).toHaveLength(30);
    } finally {
      await stop();
    }
  });

  test("PostgreSQL stopped under load: 503s while it is down, no completed response without its row, and service resumes by itself", async () => {
    const { servers, sql, url, stop } = await threeOnPostgres();
    try {
      const { id, key } = await servers[0]!.createKey("pg-outage", 1_000_000);
      const completed: string[] = [];
      const statuses: number[] = [];
      let running = true;
      const clients = Array.from({ length: 6 }, async (_, c) => {
        for (let i = 0; running; i++) {
          const rid = `outage-${c}-${i}`;
          try {
            const r = await fetch(`${servers[c % 3]!.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-request-id": rid }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
            const text = await r.text();
            statuses.push(r.status);
            if (r.status === 200 && text.includes("Hello")) completed.push(rid);
          } catch {
            statuses.push(0);
          }
          if (!running) break;
          await Bun.sleep(5);
        }
      });
      await Bun.sleep(800);
      await sql.close();
      await pg.stop();
      // Until the writer notices (its next commit fails): polled, not slept.
      const noticed = Date.now() + 10_000;
      let health = await fetch(`${servers[1]!.url}/health`);
      while (health.status !== 503 && Date.now() < noticed) {
        await Bun.sleep(50);
        health = await fetch(`${servers[1]!.url}/health`);
      }
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toContain("PostgreSQL did not take the usage rows");
      const duringOutage = statuses.length;
      await pg.start();
      // Recovered without a restart: a request succeeds again within a few seconds.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && statuses.slice(duringOutage).filter((s) => s === 200).length < 20) await Bun.sleep(100);
      running = false;
      await Promise.all(clients);
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.slice(duringOutage).filter((s) => s === 200).length).toBeGreaterThanOrEqual(20);
      const after = new SQL(url);
      try {
        const ids = ((await after`SELECT request_id FROM usage WHERE key_id = ${id}`) as { request_id: string }[]).map((r) => r.request_id);
        const counts = new Map<string, number>();
        for (const r of ids) counts.set(r, (counts.get(r) ?? 0) + 1);
        for (const rid of completed) expect([rid, counts.get(rid)]).toEqual([rid, 1]);
      } finally {
        await after.close();
      }
    } finally {
      await stop();
    }
  });
});

describe("gateway migrate-db", () => {
  test("copies a SQLite database into an empty PostgreSQL one with counts and sums checked; its keys work on PostgreSQL; a second copy is refused", async () => {
    const sqliteGw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    const { key } = await sqliteGw.createKey("moving", 1000, ["--budget", "5"]);
    const { key: other } = await sqliteGw.createKey("moving-too", 1000);
    expect((await sqliteGw.cli(["create-customer", "moving-co", "--budget", "7"])).code).toBe(0);
    expect((await sqliteGw.cli(["credits", "add", "moving-co", "3"])).code).toBe(0);
    expect((await sqliteGw.cli(["update-key", "moving-too", "--customer", "moving-co"])).code).toBe(0);
    const trail = JSON.parse((await sqliteGw.cli(["audit", "--json"])).stdout) as unknown[];
    expect(trail).toHaveLength(5);
    for (let i = 0; i < 12; i++) expect((await chat(sqliteGw, i % 3 ? key : other)).status).toBe(200);
    const before = (await (await fetch(`${sqliteGw.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${key}` } })).json()) as { total: unknown };
    await sqliteGw.stop();

    const url = await pg.createDatabase();
    const copied = await sqliteGw.cli(["migrate-db", "--to", url]);
    expect(copied.stderr).toBe("");
    expect(copied.code).toBe(0);
    expect(copied.stdout).toContain("usage: 12 rows copied");
    expect(copied.stdout).toContain("api_keys: 2 rows copied");
    expect(copied.stdout).toContain("customers: 1 rows copied");
    expect(copied.stdout).toContain("audit_log: 5 rows copied");
    expect(copied.stdout).toContain("counts and sums match");

    const ambiguous = await sqliteGw.cli(["list-keys", "--db", "gateway.db"], undefined);
    expect(ambiguous.code).toBe(0); // no GATEWAY_DATABASE_URL in this server's environment
    const again = await sqliteGw.cli(["migrate-db", "--to", url]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe("error: the PostgreSQL database already has keys or usage: migrate-db copies into an empty database only");

    const pgGw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_DATABASE_URL: url } });
    try {
      expect(pgGw.logs()).toContain("PostgreSQL without GATEWAY_REDIS_URL: request, token, parallel and budget limits are counted in each instance");
      const both = await pgGw.cli(["list-keys", "--db", "gateway.db"]);
      expect([both.code, both.stderr.trim()]).toEqual([1, "error: --db names a SQLite file, but GATEWAY_DATABASE_URL is set: unset one of them"]);
      const listing = await pgGw.cli(["list-keys", "--json"]);
      expect(listing.stderr).toBe("");
      const listed = JSON.parse(listing.stdout) as { name: string }[];
      expect(listed.map((k) => k.name).sort()).toEqual(["moving", "moving-too"]);
      // Customers, credits and the audit log came along; the copy itself is no one's change.
      expect(JSON.parse((await pgGw.cli(["audit", "--json"])).stdout)).toEqual(trail);
      expect((await pgGw.cli(["credits", "show", "moving-co", "--json"])).stdout).toContain('"credits_usd": "3.00"');
      expect(JSON.parse((await pgGw.cli(["list-keys", "--json"])).stdout).find((k: { name: string }) => k.name === "moving-too").customer).toBe("moving-co");
      expect((await pgGw.cli(["credits", "add", "moving-co", "1"])).code).toBe(0);
      expect(JSON.parse((await pgGw.cli(["audit", "--json", "--limit", "1"])).stdout)[0]).toMatchObject({ action: "credits.added", id: (trail[0] as { id: number }).id + 1 });
      const after = (await (await fetch(`${pgGw.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${key}` } })).json()) as { total: unknown };
      expect(after.total).toEqual(before.total);
      expect((await chat(pgGw, key)).status).toBe(200);
      const me = (await (await fetch(`${pgGw.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).json()) as { spent_usd: string; budget_usd: string };
      expect(me.budget_usd).toBe("5.00");
      expect(Number(me.spent_usd)).toBeGreaterThan(0);
      const sql = new SQL(url);
      const [max] = (await sql`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM usage`) as { n: number; d: number }[];
      await sql.close();
      expect(max).toEqual({ n: 13, d: 13 }); // new rows continue the copied ids
    } finally {
      await pgGw.stop();
    }
  });
});

describe("retention on PostgreSQL", () => {
  test("raw rows older than usage_retention_days are deleted; the roll-ups keep their sums, so reports of those days stay exact", async () => {
    const url = await pg.createDatabase();
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_DATABASE_URL: url }, configToml: "usage_retention_days = 2\n" });
    const sql = new SQL(url);
    try {
      const { id, key } = await gw.createKey("retained", 1000);
      const day = 86_400_000;
      const row = (i: number, createdAt: number) => ({ requestId: `old-${i}`, keyId: id, modelRequested: "gpt-4o", modelAnswered: "gpt-4o", provider: "seed", promptTokens: 10, completionTokens: 5, cachedTokens: null, reasoningTokens: null, costNanoUsd: 1000 + i, estimated: false, upstreamStatus: 200, latencyMs: 3, streamed: false, createdAt });
      const old = Date.UTC(2026, 0, 10);
      await writeUsageRows(sql, Array.from({ length: 20 }, (_, i) => row(i, old + i * 1000)));
      await writeUsageRows(sql, [row(99, Date.now() - day)]);
      const report = async () => (await (await fetch(`${gw.url}/v1/usage?from=2026-01-01&to=2026-02-01&group_by=day`, { headers: { authorization: `Bearer ${key}` } })).json()) as { total: { requests: number; cost_nano_usd: number } };
      expect((await report()).total).toMatchObject({ requests: 20, cost_nano_usd: 20 * 1000 + 190 });
      await gw.stop();
      const again = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_DATABASE_URL: url }, configToml: "usage_retention_days = 2\n", dir: gw.dir });
      try {
        // The job runs at start: the old rows go, the recent one stays, the roll-ups are untouched.
        let left = 21;
        for (let i = 0; i < 50 && left > 1; i++) {
          left = Number(((await sql`SELECT count(*) AS n FROM usage WHERE key_id = ${id}`) as { n: string }[])[0]!.n);
          if (left > 1) await Bun.sleep(50);
        }
        expect(left).toBe(1);
        const rolled = (await sql`SELECT sum(requests)::int AS n, sum(cost_nano_usd)::int AS c FROM usage_daily WHERE key_id = ${id}`) as { n: number; c: number }[];
        expect(rolled[0]).toEqual({ n: 21, c: 20 * 1000 + 190 + 1099 });
        const after = (await (await fetch(`${again.url}/v1/usage?from=2026-01-01&to=2026-02-01&group_by=day`, { headers: { authorization: `Bearer ${key}` } })).json()) as { total: unknown };
        expect(after.total).toMatchObject({ requests: 20, cost_nano_usd: 20 * 1000 + 190 });
      } finally {
        await again.stop();
      }
    } finally {
      await sql.close();
    }
  });
});

describe("the database password", () => {
  test("never appears in what serve, the key commands or migrate-db print, whether the URL is malformed or the server unreachable", async () => {
    const dir = tempDir();
    const binary = await binaryIn(dir);
    const password = "db-password-never-printed-42";
    const unreachable = `postgres://gw:${password}@127.0.0.1:1/gateway`;
    const runs = [
      await runCli(["serve", "--port", "0"], { cwd: dir, binary, env: cleanEnv({ GATEWAY_SECRET: "0123456789abcdef0123", GATEWAY_DATABASE_URL: unreachable, OPENAI_API_KEY: "sk-x" }) }),
      await runCli(["list-keys"], { cwd: dir, binary, env: cleanEnv({ GATEWAY_SECRET: "0123456789abcdef0123", GATEWAY_DATABASE_URL: unreachable }) }),
      await runCli(["list-keys"], { cwd: dir, binary, env: cleanEnv({ GATEWAY_DATABASE_URL: `mysql://gw:${password}@db/gateway` }) }),
      await runCli(["create-key", "first", "--generate", "10"], { cwd: dir, binary, env: cleanEnv() }),
      await runCli(["migrate-db", "--to", unreachable], { cwd: dir, binary, env: cleanEnv() }),
    ];
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 0, 1]);
    expect(runs[0]!.stderr.trim()).toBe("error: cannot use PostgreSQL at postgres://gw:***@127.0.0.1:1/gateway: Failed to connect (ERR_POSTGRES_CONNECTION_REFUSED)");
    expect(runs[2]!.stderr.trim()).toBe("error: GATEWAY_DATABASE_URL must look like postgres://user:password@host:5432/database, got 'mysql://***@db/gateway'");
    expect(runs[4]!.stderr.trim()).toContain("error: cannot use PostgreSQL at postgres://gw:***@127.0.0.1:1/gateway");
    for (const r of runs) expect(r.stdout + r.stderr).not.toContain(password);
  });
});
