// Usage reports against the raw rows: every grouping, day edges, customer isolation, cursor pagination, CLI.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { SQL } from "bun";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { insertUsage, insertUsagePg, prng, rollUpNow, type SeedRow } from "../helpers/seed.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const ADMIN = "admin-token-for-tests-0123456789";
const DAY = 86_400_000;
const D0 = Date.UTC(2026, 9, 1); // 2026-10-01
const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

type Report = { rows: Record<string, unknown>[]; total: { requests: number; cost_nano_usd: number; cost_usd: number } };

/** The report computed the slow, obvious way from the seeded rows. */
function expected(rows: SeedRow[], from: number, to: number, by: "key" | "model" | "day", keyId?: string) {
  const groups = new Map<string, { requests: number; prompt_tokens: number; completion_tokens: number; cost_nano_usd: number; unpriced_requests: number; estimated_requests: number }>();
  for (const r of rows) {
    if (r.created_at < from || r.created_at >= to || (keyId && r.key_id !== keyId)) continue;
    const g = by === "key" ? r.key_id : by === "model" ? r.model_requested : new Date(r.created_at).toISOString().slice(0, 10);
    const acc = groups.get(g) ?? { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_nano_usd: 0, unpriced_requests: 0, estimated_requests: 0 };
    acc.requests++;
    acc.prompt_tokens += r.prompt_tokens;
    acc.completion_tokens += r.completion_tokens;
    acc.cost_nano_usd += r.cost_nano_usd ?? 0;
    acc.unpriced_requests += r.cost_nano_usd === null ? 1 : 0;
    acc.estimated_requests += r.estimated;
    groups.set(g, acc);
  }
  // A group whose requests all lack a price reports a null cost, never a fake zero.
  return new Map([...groups].map(([g, a]) => [g, { ...a, cost_nano_usd: a.unpriced_requests === a.requests ? null : a.cost_nano_usd }]));
}

function asMap(report: Report, by: "key" | "model" | "day") {
  const field = by === "key" ? "key_id" : by;
  return new Map(
    report.rows.map((r) => [
      String(r[field]),
      { requests: r.requests, prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens, cost_nano_usd: r.cost_nano_usd, unpriced_requests: r.unpriced_requests, estimated_requests: r.estimated_requests },
    ]),
  );
}


// The same suite against each store: the embedded SQLite file (roll-ups folded in the background,
// half the history above the watermark) and PostgreSQL (roll-ups written with the rows).
for (const store of ["sqlite", "postgres"] as const) describe(`on ${store}`, () => {
let gw: TestGateway;
let pg: TestPostgres | undefined;
let sql: SQL | undefined;
const keys: { id: string; key: string; name: string }[] = [];
const seeded: SeedRow[] = [];

const admin = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
const customer = (k: string, path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${k}` } });
const seed = async (rows: SeedRow[], fold = true) => (sql ? insertUsagePg(sql, rows) : insertUsage(gw.dbPath, rows, { fold }));
const foldNow = () => sql || rollUpNow(gw.dbPath);

beforeAll(async () => {
  const env: Record<string, string> = { GATEWAY_ADMIN_TOKEN: ADMIN };
  if (store === "postgres") {
    pg = await startPostgres();
    env.GATEWAY_DATABASE_URL = await pg.createDatabase();
    sql = new SQL(env.GATEWAY_DATABASE_URL);
  }
  gw = await startGateway({ upstreamUrl: upstream.url, env });
  for (const name of ["alpha", "beta", "gamma"]) keys.push({ ...(await gw.createKey(name, 10_000)), name });
  const rand = prng(42);
  const models = ["gpt-4o", "gpt-4o-mini", "my-unpriced-model"];
  let n = 0;
  const add = (created_at: number, keyIdx: number, model: string) =>
    seeded.push({
      request_id: `seed-${n++}`,
      key_id: keys[keyIdx]!.id,
      model_requested: model,
      prompt_tokens: Math.floor(rand() * 5000),
      completion_tokens: Math.floor(rand() * 2000),
      cost_nano_usd: model === "my-unpriced-model" ? null : Math.floor(rand() * 50_000_000),
      estimated: rand() < 0.1 ? 1 : 0,
      created_at,
    });
  for (let i = 0; i < 1500; i++) {
    const m = Math.floor(rand() * 3);
    add(D0 + Math.floor(rand() * 20 * DAY), Math.floor(rand() * 3), models[m]!);
  }
  // Day edges: the last millisecond of a day and the first of the next, and many rows sharing one instant.
  for (let k = 0; k < 3; k++) {
    add(D0 + 5 * DAY - 1, k, "gpt-4o");
    add(D0 + 5 * DAY, k, "gpt-4o");
    for (let j = 0; j < 20; j++) add(D0 + 10 * DAY + 12 * 3600_000, k, "gpt-4o-mini");
  }
  // Half the history folded into the roll-ups, half still above the watermark: reports must be exact either way.
  await seed(seeded.slice(0, 800));
  foldNow();
  await seed(seeded.slice(800), false);
});
afterAll(async () => {
  await gw.stop();
  await sql?.close();
  await pg?.stop();
});

describe("usage report matches the raw rows exactly", () => {
  const ranges: [string, string, number, number][] = [
    ["2026-10-01", "2026-10-21", D0, D0 + 20 * DAY],
    ["2026-10-05", "2026-10-06", D0 + 4 * DAY, D0 + 5 * DAY], // ends right after 23:59:59.999
    ["2026-10-06", "2026-10-07", D0 + 5 * DAY, D0 + 6 * DAY], // starts at 00:00:00.000
    ["2026-10-03T07:30:00Z", "2026-10-15T18:45:10.500Z", D0 + 2 * DAY + 7.5 * 3600_000, D0 + 14 * DAY + 18.75 * 3600_000 + 10_500],
    ["2026-10-05T23:59:59.999Z", "2026-10-06T00:00:00.001Z", D0 + 5 * DAY - 1, D0 + 5 * DAY + 1],
    ["2026-10-11T12:00:00Z", "2026-10-11T12:00:00.001Z", D0 + 10 * DAY + 12 * 3600_000, D0 + 10 * DAY + 12 * 3600_000 + 1],
    ["2026-10-05T00:00:00+02:00", "2026-10-05T12:00:00-03:00", D0 + 4 * DAY - 2 * 3600_000, D0 + 4 * DAY + 15 * 3600_000],
  ];
  for (const by of ["key", "model", "day"] as const) {
    test(`group_by=${by}`, async () => {
      for (const [from, to, f, t] of ranges) {
        const res = await admin(`/admin/usage?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&group_by=${by}`);
        expect(res.status).toBe(200);
        const report = (await res.json()) as Report;
        const want = expected(seeded, f, t, by);
        expect(asMap(report, by)).toEqual(want as never);
        const totalRequests = [...want.values()].reduce((a, g) => a + g.requests, 0);
        expect(report.total.requests).toBe(totalRequests);
        expect(report.total.cost_nano_usd).toBe([...want.values()].reduce((a, g) => a + (g.cost_nano_usd ?? 0), 0));
        expect(report.total.cost_usd).toBe(report.total.cost_nano_usd / 1e9);
        if (by === "key") for (const r of report.rows) expect(r.key_name).toBe(keys.find((k) => k.id === r.key_id)!.name);
      }
    });
  }

  test("day edges land in their UTC day", async () => {
    const report = (await (await admin(`/admin/usage?from=2026-10-05&to=2026-10-07&group_by=day`)).json()) as Report;
    const edgeDay = expected(seeded, D0 + 4 * DAY, D0 + 6 * DAY, "day");
    expect(report.rows.map((r) => r.day)).toEqual(["2026-10-05", "2026-10-06"]);
    expect(report.rows.map((r) => r.requests)).toEqual([edgeDay.get("2026-10-05")!.requests, edgeDay.get("2026-10-06")!.requests]);
  });

  test("filters by key and model; unknown costs are counted, not priced at zero", async () => {
    const k = keys[1]!;
    const report = (await (await admin(`/admin/usage?from=2026-10-01&to=2026-11-01&group_by=model&key_id=${k.id}`)).json()) as Report;
    expect(asMap(report, "model")).toEqual(expected(seeded, D0, D0 + 31 * DAY, "model", k.id) as never);
    const unpriced = report.rows.find((r) => r.model === "my-unpriced-model")!;
    expect(unpriced.cost_nano_usd).toBeNull();
    expect(unpriced.cost_usd).toBeNull();
    expect(unpriced.unpriced_requests).toBe(unpriced.requests);
    expect(Number(unpriced.requests)).toBeGreaterThan(0);
    const one = (await (await admin(`/admin/usage?from=2026-10-01&to=2026-11-01&group_by=key&model=gpt-4o`)).json()) as Report;
    expect(one.total.requests).toBe(seeded.filter((r) => r.model_requested === "gpt-4o").length);
  });

  test("after the roll-up job catches up, the three daily roll-ups agree with the raw rows and reports are unchanged", async () => {
    const before = await (await admin(`/admin/usage?from=2026-10-01&to=2026-10-21&group_by=key`)).text();
    foldNow();
    expect(await (await admin(`/admin/usage?from=2026-10-01&to=2026-10-21&group_by=key`)).text()).toBe(before);
    const rawSql = (group: string) =>
      `SELECT ${group}, count(*) AS requests, sum(prompt_tokens) AS p, sum(completion_tokens) AS c, coalesce(sum(cost_nano_usd), 0) AS cost,
              sum(CASE WHEN cost_nano_usd IS NULL THEN 1 ELSE 0 END) AS u, sum(CASE WHEN estimated THEN 1 ELSE 0 END) AS e
       FROM (SELECT created_at / 86400000 AS day, key_id AS k, model_requested AS model, * FROM usage) AS u GROUP BY ${group} ORDER BY ${group}`;
    const sums = "sum(requests) AS requests, sum(prompt_tokens) AS p, sum(completion_tokens) AS c, sum(cost_nano_usd) AS cost, sum(unpriced_requests) AS u, sum(estimated_requests) AS e";
    const rolledSql = (table: string, group: string) => `SELECT ${group.replace("k", "key_id AS k")}, ${sums} FROM ${table} GROUP BY ${group.replace("k", "key_id")} ORDER BY ${group.replace("k", "key_id")}`;
    const all = async (text: string) => {
      if (sql) return ((await sql.unsafe(text)) as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, c === "k" || c === "model" ? v : Number(v)])));
      const db = new Database(gw.dbPath, { readonly: true });
      try {
        return db.query(text).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    };
    if (!sql) {
      const db = new Database(gw.dbPath, { readonly: true });
      const state = db.query("SELECT last_usage_id AS wm, (SELECT max(id) FROM usage) AS top FROM rollup_state").get() as { wm: number; top: number };
      db.close();
      expect(state.wm).toBe(state.top);
    }
    expect(await all(rolledSql("usage_daily", "day, k, model"))).toEqual(await all(rawSql("day, k, model")));
    expect(await all(rolledSql("usage_daily_key", "day, k"))).toEqual(await all(rawSql("day, k")));
    expect(await all(rolledSql("usage_daily_model", "day, model"))).toEqual(await all(rawSql("day, model")));
    expect((await all(rawSql("day, k, model"))).length).toBeGreaterThan(100);
  });

  test("bad parameters: 400 in OpenAI's shape naming the parameter", async () => {
    const cases: [string, string][] = [
      ["/admin/usage?group_by=week", "group_by"],
      ["/admin/usage?from=yesterday", "from"],
      ["/admin/usage?to=2026-13-45", "to"],
      ["/admin/usage?from=2026-10-05&to=2026-10-05", "from"],
      ["/admin/usage?from=2026-10-05T10:00:00", "from"], // a date-time needs a zone
      ["/admin/usage/requests?limit=0", "limit"],
      ["/admin/usage/requests?limit=abc", "limit"],
      ["/admin/usage/requests?cursor=not-a-cursor", "cursor"],
    ];
    for (const [path, param] of cases) {
      const res = await admin(path);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type: "invalid_request_error", param });
    }
  });
});

describe("customer self-service", () => {
  test("/v1/usage shows only the caller's key, whatever the query says", async () => {
    const [a, b] = keys as [(typeof keys)[0], (typeof keys)[0]];
    const res = await customer(a.key, `/v1/usage?from=2026-10-01&to=2026-11-01&group_by=model&key_id=${b.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("10000");
    const report = (await res.json()) as Report;
    expect(asMap(report, "model")).toEqual(expected(seeded, D0, D0 + 31 * DAY, "model", a.id) as never);
    expect(JSON.stringify(report)).not.toContain(b.id);
    const byDay = (await (await customer(b.key, `/v1/usage?from=2026-10-01&to=2026-11-01&group_by=day`)).json()) as Report;
    expect(asMap(byDay, "day")).toEqual(expected(seeded, D0, D0 + 31 * DAY, "day", b.id) as never);
    expect((await customer(a.key, `/v1/usage?group_by=key`)).status).toBe(400);
    expect((await customer("sk-unknown-customer", `/v1/usage`)).status).toBe(401);
    expect((await fetch(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(401);
  });
});

describe("request records", () => {
  test("cursor pagination: newest first, no duplicates, no gaps, stable while new rows arrive", async () => {
    const k = keys[2]!;
    const mine = seeded.filter((r) => r.key_id === k.id && r.created_at >= D0 + 9 * DAY && r.created_at < D0 + 12 * DAY);
    const seen: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/admin/usage/requests?key_id=${k.id}&from=2026-10-10&to=2026-10-13&limit=7${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await admin(q)).json()) as { data: Record<string, unknown>[]; next_cursor: string | null };
      seen.push(...page.data);
      cursor = page.next_cursor;
      if (pages++ === 1) {
        // A request arriving mid-pagination (newer than everything) must not shift later pages.
        const late = { ...mine[0]!, request_id: "late-arrival", created_at: D0 + 12 * DAY - 1 };
        await seed([late]);
        seeded.push(late);
      }
    } while (cursor);
    const ids = seen.map((r) => r.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(mine.map((r) => r.request_id).sort());
    const times = seen.map((r) => Date.parse(String(r.created_at)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(seen[0]).toMatchObject({ key_id: k.id, key_name: k.name, provider: "seed", upstream_status: 200, streamed: false });
    expect(Object.keys(seen[0]!)).not.toContain("key_hash");
  });
});

test("CLI usage prints the same report as a table with totals, and as JSON", async () => {
  const cli = (...args: string[]) => runCli(["usage", ...args, ...(sql ? [] : ["--db", gw.dbPath])], { cwd: gw.dir, env: gw.env });
  const json = await cli("--from", "2026-10-01", "--to", "2026-11-01", "--by", "model", "--json");
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout) as Report;
  expect(asMap(report, "model")).toEqual(expected(seeded, D0, D0 + 31 * DAY, "model") as never);
  const table = await cli("--from", "2026-10-01", "--to", "2026-11-01", "--key", "alpha");
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split("\n");
  expect(lines[1]).toMatch(/^KEY\s+REQUESTS\s+PROMPT TOKENS\s+COMPLETION TOKENS\s+COST\s+UNPRICED$/);
  const alpha = expected(seeded, D0, D0 + 31 * DAY, "key", keys[0]!.id).get(keys[0]!.id)!;
  const total = lines.find((l) => l.startsWith("TOTAL"))!;
  expect(total.split(/\s+/).slice(1, 5)).toEqual([String(alpha.requests), String(alpha.prompt_tokens), String(alpha.completion_tokens), `$${((alpha.cost_nano_usd ?? 0) / 1e9).toFixed(6)}`]);
  const bad = await cli("--by", "week");
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe("error: --by must be key, model, day or customer, got 'week'\n");
  const badDate = await cli("--from", "last-week");
  expect(badDate.stderr).toContain("error: Invalid --from");
});
});
