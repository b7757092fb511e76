// CSV export (admin API and CLI) and usage retention, against the compiled binary: old raw rows are
// pruned once the roll-ups hold them, reports of those days do not change, and the file stops growing.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { binaryIn, parseCreated, runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_SECRET } from "../helpers/harness.ts";
import { insertUsage, rollUpNow, type SeedRow } from "../helpers/seed.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(60_000);

const ADMIN = "admin-token-export-0123456789-xyz";
const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY;
const oldDay = today - 100 * DAY;
const upstream = startFakeUpstream();
let gw: TestGateway;
let dir: string;
let keyId: string;

const rowsAt = (n: number, at: (i: number) => number, model: string, prefix: string): SeedRow[] =>
  Array.from({ length: n }, (_, i) => ({ request_id: `${prefix}-${i}`, key_id: keyId, model_requested: model, prompt_tokens: 10, completion_tokens: 5, cost_nano_usd: i % 10 === 0 ? null : 1234, estimated: 0, created_at: at(i) }));

const count = (where: string) => {
  const db = new Database(join(dir, "gateway.db"), { readonly: true });
  try {
    return (db.query(`SELECT count(*) AS n FROM usage WHERE ${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};
const pragma = (name: string) => {
  const db = new Database(join(dir, "gateway.db"), { readonly: true });
  try {
    return (db.query(`PRAGMA ${name}`).get() as Record<string, number>)[name]!;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  // A database with 100-day-old rows (folded into the roll-ups) before the server ever starts.
  dir = tempDir();
  const env = { GATEWAY_SECRET: TEST_SECRET, OPENAI_BASE_URL: upstream.url, OPENAI_API_KEY: PROVIDER_KEY, GATEWAY_ADMIN_TOKEN: ADMIN };
  const binary = await binaryIn(dir);
  const created = await runCli(["create-key", '=SUM(A1),"acme"', "--generate", "1000"], { cwd: dir, binary, env });
  expect(created.code).toBe(0);
  keyId = parseCreated(created.stdout).id;
  insertUsage(join(dir, "gateway.db"), [...rowsAt(1500, (i) => oldDay + (i % 2) * DAY + i * 1000, "gpt-old", "old"), ...rowsAt(5, (i) => Date.now() - 3_600_000 + i, "gpt-new", "new")]);
  rollUpNow(join(dir, "gateway.db"));
});
afterAll(async () => {
  await gw?.stop();
  await upstream.stop();
});

describe("CSV export and retention", () => {
  let before: string;
  test("the report of the old days as CSV, from the CLI: a row per group and a TOTAL row; names defused and quoted", async () => {
    const env = { GATEWAY_SECRET: TEST_SECRET };
    const out = await runCli(["usage", "--from", new Date(oldDay).toISOString().slice(0, 10), "--to", new Date(oldDay + 2 * DAY).toISOString().slice(0, 10), "--by", "key", "--csv", "--db", join(dir, "gateway.db")], { cwd: dir, env, binary: await binaryIn(dir) });
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split("\r\n");
    expect(lines[0]).toBe("from,to,key_id,key_name,requests,prompt_tokens,completion_tokens,cost_usd,unpriced_requests,estimated_requests,cache_hits,saved_usd");
    // 1,500 rows, every tenth unpriced: 1,350 priced at 1,234 nano-dollars.
    expect(lines[1]).toEndWith(`,${keyId},"'=SUM(A1),""acme""",1500,15000,7500,0.001665900,150,0,0,0.000000000`);
    expect(lines[2]).toMatch(/,TOTAL,,1500,15000,7500,0\.001665900,150,0,0,0\.000000000$/);
    expect(lines).toHaveLength(3);
    before = out.stdout;
  });

  test("usage_retention_days: rows older than that are pruned in the background once folded; the newest rows stay; the old report is unchanged", async () => {
    expect(count("1")).toBe(1505);
    gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, dir, configToml: "usage_retention_days = 30\n", env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
    for (let i = 0; i < 100 && count(`created_at < ${today - 30 * DAY}`) > 0; i++) await Bun.sleep(100);
    expect(count(`created_at < ${today - 30 * DAY}`)).toBe(0);
    expect(count("1")).toBe(5);
    const from = new Date(oldDay).toISOString().slice(0, 10);
    const to = new Date(oldDay + 2 * DAY).toISOString().slice(0, 10);
    const res = await fetch(`${gw.url}/admin/usage?from=${from}&to=${to}&group_by=key&format=csv`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="usage-by-key.csv"');
    expect(await res.text()).toBe(before);
    const byDay = (await (await fetch(`${gw.url}/admin/usage?from=${from}&to=${to}&group_by=day`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { rows: { requests: number }[] };
    expect(byDay.rows.map((r) => r.requests)).toEqual([750, 750]);
  });

  test("the file stops growing: new rows reuse the pages the pruned ones freed", async () => {
    const pages = pragma("page_count");
    expect(pragma("freelist_count")).toBeGreaterThan(10);
    insertUsage(join(dir, "gateway.db"), rowsAt(1000, (i) => Date.now() - 60_000 + i, "gpt-new", "refill"));
    expect(pragma("page_count")).toBeLessThanOrEqual(pages);
  });

  test("request rows as CSV, streamed page by page: every row of the range once, newest first", async () => {
    const res = await fetch(`${gw.url}/admin/usage/requests?format=csv&from=${new Date(today - DAY).toISOString().slice(0, 10)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="requests.csv"');
    const lines = (await res.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe("created_at,request_id,key_id,key_name,model_requested,model_answered,provider,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost_usd,estimated,upstream_status,latency_ms,streamed");
    const ids = lines.slice(1).map((l) => l.split(",")[1]);
    expect(ids).toHaveLength(1005);
    expect(new Set(ids).size).toBe(1005);
    const times = lines.slice(1).map((l) => Date.parse(l.split(",")[0]!));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(lines[1]).toContain(`,${keyId},"'=SUM(A1),""acme""",gpt-new,gpt-new,seed,10,5,,,`);
  });

  test("a CSV export of 150,000 rows lets other requests through between pages: /health keeps answering (it waited for the whole export before)", async () => {
    insertUsage(join(dir, "gateway.db"), rowsAt(150_000, (i) => Date.now() - 120_000 + i % 60_000, "gpt-bulk", "bulk"));
    let exporting = true;
    let slowest = 0;
    let answers = 0;
    const probe = (async () => {
      while (exporting) {
        const t = performance.now();
        await (await fetch(`${gw.url}/health`)).arrayBuffer();
        slowest = Math.max(slowest, performance.now() - t);
        answers++;
        await Bun.sleep(2);
      }
    })();
    const res = await fetch(`${gw.url}/admin/usage/requests?format=csv&from=${new Date(today - DAY).toISOString().slice(0, 10)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const lines = (await res.text()).trimEnd().split("\r\n").length;
    exporting = false;
    await probe;
    expect(lines).toBe(1 + 1005 + 150_000);
    expect(answers).toBeGreaterThan(10);
    // A page takes a few ms; the margin is for a busy 2-core box (the whole export took 1.5 s before).
    expect(slowest).toBeLessThan(300);
  });
});
