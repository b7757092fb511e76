// The group-commit recorders, on a real SQLite file and a real PostgreSQL server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createStorageHealth } from "../../src/usage/health.ts";
import { createPgUsageRecorder } from "../../src/store/postgres/recorder.ts";
import { openPostgres } from "../../src/store/postgres/client.ts";
import { createUsageRecorder, createUsageWriter } from "../../src/store/sqlite/recorder.ts";
import { USAGE_COLUMNS, usageValues, type UsageRecord, type UsageRecorder } from "../../src/usage/record.ts";
import { createRollupStep, startRollupJob } from "../../src/store/sqlite/rollup.ts";
import { startWriterThread } from "../../src/store/sqlite/writer.ts";
import { harness } from "../helpers/harness.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg?.stop());

const row = (keyId: string, i: number): UsageRecord => ({
  requestId: `rec-${i}`, keyId, modelRequested: "gpt-4o", modelAnswered: "gpt-4o", provider: "test", promptTokens: 10, completionTokens: 5,
  cachedTokens: null, reasoningTokens: null, costNanoUsd: 100, estimated: false, upstreamStatus: 200, latencyMs: 2.6, streamed: false, createdAt: Date.now(),
});

async function recorders(): Promise<[string, UsageRecorder, string][]> {
  const h = harness();
  const sqliteKey = (await h.keys.create({ name: "rec", key: "sk-recorder-key-1" })).id;
  const sql = await openPostgres(await pg.createDatabase());
  await sql`INSERT INTO api_keys (id, name, key_hash, lookup, rate_limit_per_minute, is_active, created_at, updated_at) VALUES ('pg-key', 'rec', 'h', 'l', 60, true, 0, 0)`;
  const log = () => {};
  return [
    ["sqlite", createUsageRecorder({ thread: startWriterThread(h.db.$client.filename, { busyTimeoutMs: 1000, retentionDays: undefined, heartbeatKey: "server:test", log }), health: createStorageHealth({ log }), busyTimeoutMs: 1000, log }), sqliteKey],
    ["postgres", createPgUsageRecorder({ sql, health: createStorageHealth({ log }), log }), "pg-key"],
  ];
}

describe("usage recorders", () => {
  test("a settlement that throws does not leave the rest of its batch waiting; settlements run after the commit, in order", async () => {
    for (const [name, recorder, keyId] of await recorders()) {
      const settled: number[] = [];
      const done = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          recorder.record(row(keyId, i), () => {
            settled.push(i);
            if (i === 1) throw new Error("boom");
          }).then(() => i),
        ),
      );
      expect([name, done]).toEqual([name, [0, 1, 2, 3, 4]]);
      expect([name, settled]).toEqual([name, [0, 1, 2, 3, 4]]);
      expect(recorder.pending()).toBe(0);
    }
  });
});

describe("SQLite roll-ups", () => {
  const state = (db: ReturnType<typeof harness>["db"]) => ({
    watermark: (db.$client.query("SELECT last_usage_id AS w FROM rollup_state").get() as { w: number }).w,
    top: (db.$client.query("SELECT max(id) AS m FROM usage").get() as { m: number }).m,
    rows: db.$client.query("SELECT key_id, model_requested AS model, count(*) AS n, sum(prompt_tokens) AS p FROM usage GROUP BY key_id, model_requested ORDER BY key_id, model").all(),
    folded: db.$client.query("SELECT key_id, model, sum(requests) AS n, sum(prompt_tokens) AS p FROM usage_daily GROUP BY key_id, model ORDER BY key_id, model").all(),
    perKey: (db.$client.query("SELECT coalesce(sum(requests), 0) AS n FROM usage_daily_key").get() as { n: number }).n,
    perModel: (db.$client.query("SELECT coalesce(sum(requests), 0) AS n FROM usage_daily_model").get() as { n: number }).n,
  });

  test("the writer folds the rows it committed from memory, once per interval, in a commit's transaction; rows after another writer's are left to the job", async () => {
    const h = harness();
    const keyId = (await h.keys.create({ name: "fold", key: "sk-fold-key-1" })).id;
    const rows = (from: number, n: number, model = "gpt-4o") => Array.from({ length: n }, (_, i) => ({ ...row(keyId, from + i), modelRequested: model }));
    let now = 1_000_000;
    const writer = createUsageWriter(h.db, { foldEveryMs: 250, clock: () => now });
    writer.immediate(rows(0, 3)); // the first commit folds
    let s = state(h.db);
    expect([s.watermark, s.top, s.perKey]).toEqual([3, 3, 3]);
    now += 100;
    writer.immediate(rows(3, 2, "gpt-4o-mini")); // within the interval: kept in memory
    writer.immediate(rows(5, 1));
    s = state(h.db);
    expect([s.watermark, s.top, s.perKey]).toEqual([3, 6, 3]);
    now += 200;
    writer.immediate(rows(6, 1)); // due: the three commits since the last fold, in one
    s = state(h.db);
    expect([s.watermark, s.top]).toEqual([7, 7]);
    expect(s.folded).toEqual(s.rows);
    expect([s.perKey, s.perModel]).toEqual([7, 7]);

    // Another connection's rows land between this writer's commits: the watermark never jumps over them.
    now += 100;
    writer.immediate(rows(7, 2));
    createUsageWriter(h.db, { foldEveryMs: Infinity }).immediate(rows(9, 4));
    writer.immediate(rows(13, 1));
    now += 300;
    writer.immediate(rows(14, 2));
    s = state(h.db);
    expect([s.watermark, s.top, s.perKey]).toEqual([7, 16, 7]);
    const step = createRollupStep(h.db.$client, 5);
    expect([step(), step(), step()]).toEqual([5, 4, 0]);
    s = state(h.db);
    expect([s.watermark, s.top]).toEqual([16, 16]);
    expect(s.folded).toEqual(s.rows);
    expect(s.rows).toEqual([
      { key_id: keyId, model: "gpt-4o", n: 14, p: 140 },
      { key_id: keyId, model: "gpt-4o-mini", n: 2, p: 20 },
    ]);
    expect([s.perKey, s.perModel]).toEqual([16, 16]);
    // Caught up: the writer folds from memory again.
    now += 300;
    writer.immediate(rows(16, 1));
    s = state(h.db);
    expect([s.watermark, s.top, s.perKey, s.perModel]).toEqual([17, 17, 17, 17]);
  });

  test("a commit that fails leaves the writer's unfolded rows as they were", async () => {
    const h = harness();
    const keyId = (await h.keys.create({ name: "fold", key: "sk-fold-key-2" })).id;
    let now = 0;
    const writer = createUsageWriter(h.db, { foldEveryMs: 250, clock: () => now });
    writer.immediate([row(keyId, 0)]);
    now += 10;
    writer.immediate([row(keyId, 1)]);
    expect(() => writer.immediate([row(keyId, 2), { ...row("no-such-key", 3) }])).toThrow(); // the foreign key refuses it
    now += 300;
    writer.immediate([row(keyId, 4)]);
    const s = state(h.db);
    expect([s.watermark, s.top, s.perKey]).toEqual([3, 3, 3]);
    expect(s.folded).toEqual(s.rows);
  });
});

describe("SQLite roll-up job", () => {
  test("keeps out of the way while the writer folds its own rows, and folds what is left once traffic stops", async () => {
    const h = harness();
    const keyId = (await h.keys.create({ name: "job", key: "sk-fold-key-3" })).id;
    const writer = createUsageWriter(h.db, { foldEveryMs: 100 });
    const job = startRollupJob({ sqlite: h.db.$client, intervalMs: 25, stillMs: 300 });
    // A probe only the table carries: a row folded by the job (read back from the table) adds 1000 prompt
    // tokens more to the roll-ups than the same row folded by the writer (from its in-memory sums).
    const mark = h.db.$client.prepare("UPDATE usage SET prompt_tokens = prompt_tokens + 1000 WHERE id = (SELECT max(id) FROM usage)");
    let n = 0;
    const until = Date.now() + 700;
    while (Date.now() < until) {
      writer.immediate([row(keyId, n++)]);
      mark.run();
      await Bun.sleep(5);
    }
    const folded = () => (h.db.$client.query("SELECT coalesce(sum(requests), 0) AS r, coalesce(sum(prompt_tokens), 0) AS p FROM usage_daily_key").get() as { r: number; p: number });
    for (let i = 0; i < 100 && folded().r < n; i++) await Bun.sleep(20);
    job.stop();
    const { r, p } = folded();
    expect(r).toBe(n);
    const byJob = (p - 10 * n) / 1000;
    // Only the rows after the writer's last fold (at most ~100 ms of traffic) are left for the job.
    expect(n).toBeGreaterThan(60);
    expect(byJob).toBeGreaterThan(0);
    expect(byJob).toBeLessThan(n / 3);
  });
});

describe("background jobs during a storage fault", () => {
  test("a roll-up job failing every 25 ms logs one line, then one when it works again", async () => {
    const h = harness();
    const keyId = (await h.keys.create({ name: "fault-log", key: "sk-fault-log-key-4" })).id;
    const lines: string[] = [];
    const job = startRollupJob({ sqlite: h.db.$client, intervalMs: 25, stillMs: 0, log: (l) => void lines.push(l) });
    try {
      // The daily roll-up table is gone: every step fails the same way.
      h.db.$client.run("ALTER TABLE usage_daily RENAME TO usage_daily_away");
      // A row written by "another process": the job must fold it.
      h.db.$client.prepare(`INSERT INTO usage (${USAGE_COLUMNS.join(", ")}) VALUES (${USAGE_COLUMNS.map(() => "?").join(", ")})`).run(...usageValues(row(keyId, 1), (b) => (b ? 1 : 0)));
      await Bun.sleep(500);
      expect(lines.filter((l) => l.includes("roll-up step failed"))).toHaveLength(1);
      h.db.$client.run("ALTER TABLE usage_daily_away RENAME TO usage_daily");
      const deadline = Date.now() + 2000;
      while (!lines.some((l) => l.includes("works again")) && Date.now() < deadline) await Bun.sleep(25);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/roll-up step works again after failing \d+ times/);
    } finally {
      job.stop();
    }
  });
});

describe("a usage writer's thread that dies", () => {
  test("the rows it held get their 503 at once, health says why, a new thread takes over and the next rows commit", async () => {
    const h = harness();
    const keyId = (await h.keys.create({ name: "dies", key: "sk-recorder-key-dies" })).id;
    const lines: string[] = [];
    const log = (l: string) => void lines.push(l);
    const health = createStorageHealth({ log });
    const threadUrl = new URL("../helpers/dying-writer.ts", import.meta.url).href;
    const thread = startWriterThread(h.db.$client.filename, { busyTimeoutMs: 1000, retentionDays: undefined, heartbeatKey: "server:dies", log, threadUrl });
    const recorder = createUsageRecorder({ thread, health, busyTimeoutMs: 1000, log });
    try {
      const first = await recorder.record(row(keyId, 100)).then(() => "committed", (err: unknown) => err);
      expect(first).toMatchObject({ status: 503, code: "usage_not_recorded" });
      expect(health.state().ok).toBe(false);
      const deadline = Date.now() + 10_000;
      while (!health.state().ok && Date.now() < deadline) await Bun.sleep(50);
      expect(health.state()).toEqual({ ok: true });
      await recorder.record(row(keyId, 101));
      const ids = h.db.$client.query<{ request_id: string }, []>("SELECT request_id FROM usage").all().map((r) => r.request_id);
      expect(ids).toEqual(["rec-101"]);
      expect(lines.join("\n")).toContain("the usage writer's thread stopped unexpectedly; starting a new one");
    } finally {
      recorder.stop();
      await thread.stop();
    }
  }, 20_000);
});
