// Cost-report latency on a big history: 2,000,000 usage rows, 1,000 keys, 90 days.
// Usage: bun run bench/report-latency.ts [--rows 2000000] [--keep PATH]
// Seeds a fresh SQLite file through the real migrations and roll-up trigger, then times the reports
// the admin API serves, next to the same report computed from the raw rows (the baseline).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/store/sqlite/client.ts";
import { type ReportQuery } from "../src/usage/analytics.ts";
import { usageReport } from "../src/store/sqlite/reports.ts";
import { createUsageWriter } from "../src/store/sqlite/recorder.ts";
import { type UsageRecord } from "../src/usage/record.ts";
import { createRollupStep } from "../src/store/sqlite/rollup.ts";
import { listRequests } from "../src/store/sqlite/requests.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "2000000" }, keep: { type: "string" } } });
const ROWS = Number(values.rows);
const KEYS = 1000;
const DAYS = 90;
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "gw-bench-report-"));
const path = values.keep ?? join(dir, "bench.db");
const db = openDatabase({ path, busyTimeoutMs: 5000 });
const sqlite = db.$client;

const end = Math.floor(Date.now() / DAY) * DAY; // today 00:00 UTC
const start = end - DAYS * DAY;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

console.log(`seeding ${ROWS.toLocaleString()} rows, ${KEYS} keys, ${DAYS} days into ${path}`);
const t0 = performance.now();
const keyIds: string[] = [];
sqlite.transaction(() => {
  const ins = sqlite.prepare("INSERT INTO api_keys (id, name, key_hash, lookup, rate_limit_per_minute, is_active, created_at, updated_at) VALUES (?, ?, 'x', ?, 1000, 1, 0, 0)");
  for (let i = 0; i < KEYS; i++) {
    const id = crypto.randomUUID();
    keyIds.push(id);
    ins.run(id, `bench-key-${i}`, `lookup-${i}`);
  }
})();
const models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4", "claude-3-5-haiku", "gemini-2.5-flash", "deepseek-chat", "mistral-small-latest", "llama-local"];
// The production writer, then the production roll-up job's step until caught up.
const write = createUsageWriter(db);
const rollUp = createRollupStep(sqlite);
const BATCH = 10_000;
for (let done = 0; done < ROWS; done += BATCH) {
  const batch: UsageRecord[] = [];
  for (let i = done; i < Math.min(ROWS, done + BATCH); i++) {
    const model = models[Math.floor(rand() * models.length)]!;
    batch.push({
      requestId: `req-${i}`,
      // Keys are Zipf-ish: a few big customers, a long tail.
      keyId: keyIds[Math.floor(KEYS * rand() ** 2)]!,
      modelRequested: model,
      modelAnswered: model,
      provider: "openai",
      promptTokens: Math.floor(rand() * 4000),
      completionTokens: Math.floor(rand() * 800),
      cachedTokens: null,
      reasoningTokens: null,
      costNanoUsd: model === "llama-local" ? null : Math.floor(rand() * 20_000_000),
      estimated: false,
      upstreamStatus: 200,
      latencyMs: 300,
      streamed: false,
      createdAt: start + Math.floor(((i + rand()) / ROWS) * DAYS * DAY),
    });
  }
  write.immediate(batch);
  while (rollUp() > 0);
}
sqlite.run("ANALYZE");
const seedSeconds = (performance.now() - t0) / 1000;
console.log(`seeded in ${seedSeconds.toFixed(1)} s (${Math.round(ROWS / seedSeconds).toLocaleString()} rows/s, roll-ups included)`);

// The baseline: the same report from the raw rows only (what a gateway without a roll-up would do).
function rawReport(q: ReportQuery): number {
  const col = q.groupBy === "key" ? "key_id" : q.groupBy === "model" ? "model_requested" : "created_at / 86400000";
  const where = q.keyId ? "key_id = ? AND created_at >= ? AND created_at < ?" : "created_at >= ? AND created_at < ?";
  const params = q.keyId ? [q.keyId, q.from, q.to] : [q.from, q.to];
  return sqlite.query(`SELECT ${col}, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_nano_usd) FROM usage WHERE ${where} GROUP BY 1`).all(...params).length;
}

function time(fn: () => unknown, runs = 15): { p50: number; p95: number } {
  fn(); // warm the page cache and statement cache
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(runs / 2)]!, p95: ms[Math.ceil(runs * 0.95) - 1]! };
}

const bigKey = keyIds[0]!;
const tailKey = keyIds[KEYS - 1]!;
const last30 = { from: end - 30 * DAY + 0, to: end + 1 };
const partial = { from: end - 30 * DAY + 7 * 3600_000 + 123, to: end - 3 * 3600_000 };
const cases: [string, ReportQuery][] = [
  ["30 days, one key (largest), by model", { ...last30, groupBy: "model", keyId: bigKey }],
  ["30 days, one key (small), by day", { ...last30, groupBy: "day", keyId: tailKey }],
  ["30 days, all keys, by key", { ...last30, groupBy: "key" }],
  ["30 days, all keys, by model", { ...last30, groupBy: "model" }],
  ["30 days, all keys, by day", { ...last30, groupBy: "day" }],
  ["30 days from 07:00:00.123, all keys, by key", { ...partial, groupBy: "key" }],
  ["90 days, all keys, by key", { from: start, to: end + 1, groupBy: "key" }],
];

const rows: string[][] = [];
for (const [label, q] of cases) {
  const gw = time(() => usageReport(db, q));
  const raw = time(() => rawReport(q), 5);
  rows.push([label, gw.p50.toFixed(1), gw.p95.toFixed(1), raw.p50.toFixed(1), (raw.p50 / gw.p50).toFixed(0) + "x"]);
}
const page = time(() => listRequests(db, { ...last30, limit: 100 }));
rows.push(["request records, newest 100 (all keys)", page.p50.toFixed(1), page.p95.toFixed(1), "-", "-"]);
const keyPage = time(() => listRequests(db, { ...last30, keyId: tailKey, limit: 100 }));
rows.push(["request records, newest 100 (one key)", keyPage.p50.toFixed(1), keyPage.p95.toFixed(1), "-", "-"]);

// The roll-ups must agree exactly with the raw rows.
const b = JSON.stringify(sqlite.query("SELECT count(*) r, sum(prompt_tokens) p, sum(completion_tokens) c, coalesce(sum(cost_nano_usd),0) n, sum(cost_nano_usd IS NULL) u FROM usage").get());
const a = ["usage_daily", "usage_daily_key", "usage_daily_model"].map((t) =>
  JSON.stringify(sqlite.query(`SELECT sum(requests) r, sum(prompt_tokens) p, sum(completion_tokens) c, sum(cost_nano_usd) n, sum(unpriced_requests) u FROM ${t}`).get()),
);
const agree = a.every((x) => x === b);

const widths = [46, 10, 10, 14, 8];
const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" ");
console.log(`\n${fmt(["report (ms)", "p50", "p95", "raw-rows p50", "speedup"])}`);
for (const r of rows) console.log(fmt(r));
console.log(`\nroll-ups agree with raw rows: ${agree ? "yes" : `NO ${a.join(" ")} vs ${b}`}`);
sqlite.close();
if (!values.keep) rmSync(dir, { recursive: true, force: true });
if (!agree) process.exit(1);
