// Never a 200 without its row: disk full, read-only, deleted database, a lock held by another process.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryIn, runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_SECRET } from "../helpers/harness.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(90_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());
const isRoot = process.getuid?.() === 0;

/** A small tmpfs to fill up: needs root and a kernel that lets this process mount (CI has both). */
function mountTmpfs(sizeMb: number): string | null {
  if (!isRoot) return null;
  const dir = tempDir("gw-tmpfs-");
  return Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeMb}m`, "tmpfs", dir]).exitCode === 0 ? dir : null;
}
const fullDisk = mountTmpfs(6);
afterAll(() => {
  if (fullDisk) Bun.spawnSync(["umount", "-l", fullDisk]);
});

const chat = (g: TestGateway, key: string, extra: Record<string, unknown> = {}) =>
  fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra }),
  });

interface ErrorJson {
  error: { code: string; type: string; message: string };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(50);
  }
}

const health = async (g: TestGateway) => {
  const res = await fetch(`${g.url}/health`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};

/** Holds the database's write lock from another process for `ms`, as a sqlite3 shell left in a transaction would. */
async function holdWriteLock(dbPath: string, ms: number): Promise<{ released: Promise<number> }> {
  const proc = Bun.spawn(
    [process.execPath, "-e", `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(dbPath)}); db.run("BEGIN IMMEDIATE"); db.run("INSERT INTO meta (key, value) VALUES ('lock-holder', 'x') ON CONFLICT DO NOTHING"); console.log("locked"); await Bun.sleep(${ms}); db.run("COMMIT");`],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("locked")) throw new Error("lock holder did not start");
  return { released: proc.exited };
}

describe("disk full", () => {
  test.if(fullDisk !== null)("no 200 without its row; refused before the upstream while failing; logged once; recovers when space returns", async () => {
    const mount = fullDisk!;
    try {
      const gw = await startGateway({ upstreamUrl: upstream.url, dir: mount });
      try {
        const { key } = await gw.createKey("full-disk");
        expect((await chat(gw, key)).status).toBe(200);
        // Fill the file system to the last byte.
        const filler = join(mount, "filler");
        try {
          writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
        } catch {}
        let ok = 1;
        let refusal: ErrorJson | undefined;
        for (let i = 0; i < 5000 && !refusal; i++) {
          const res = await chat(gw, key, { messages: [{ role: "user", content: "x".repeat(2000) }] });
          if (res.status === 200) ok++;
          else {
            expect(res.status).toBe(503);
            refusal = (await res.json()) as ErrorJson;
          }
        }
        expect(refusal?.error.code).toBe("usage_not_recorded");
        // While failing: refused before the upstream, /health says why.
        const forwarded = upstream.received.length;
        for (let i = 0; i < 5; i++) {
          const res = await chat(gw, key);
          expect(res.status).toBe(503);
          expect(((await res.json()) as ErrorJson).error.code).toBe("usage_not_recorded");
        }
        expect(upstream.received.length).toBe(forwarded);
        const h = await health(gw);
        expect(h.status).toBe(503);
        expect(h.body.reason).toMatch(/full/i);
        expect(gw.logs().match(/usage cannot be recorded/g)?.length).toBe(1);
        // Space returns: recovery without a restart.
        rmSync(filler);
        await until("health recovers", async () => (await health(gw)).status === 200);
        expect((await chat(gw, key)).status).toBe(200);
        ok++;
        expect(gw.logs()).toContain("usage recording recovered");
        // Every 200 has exactly its row; no failed request left one.
        expect(gw.rows().length).toBe(ok);
      } finally {
        await gw.stop();
      }
    } finally {
      rmSync(join(mount, "filler"), { force: true });
    }
  });
  if (fullDisk === null) console.warn("SKIPPED: the disk-full test needs root and permission to mount a small tmpfs; CI runs it as root");
});

describe("read-only database", () => {
  test("the server refuses to start on a database it cannot write, with one line", async () => {
    const dir = tempDir();
    const binary = await binaryIn(dir);
    const dbPath = join(dir, "gateway.db");
    const env = { GATEWAY_SECRET: TEST_SECRET, OPENAI_BASE_URL: upstream.url, OPENAI_API_KEY: "sk-x-1234567890" };
    expect((await runCli(["create-key", "ro", "--db", dbPath], { cwd: dir, env })).code).toBe(0);
    // The database's folder is writable (WAL files can be made), the file itself is not.
    chmodSync(dir, 0o777);
    chmodSync(dbPath, 0o444);
    const argv = [binary, "serve", "--port", "0", "--db", dbPath];
    const proc = Bun.spawn(isRoot ? ["/usr/sbin/runuser", "-u", "nobody", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv] : argv, {
      cwd: dir,
      env: isRoot ? {} : { ...env, PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    clearTimeout(timer);
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr.trim()).toMatch(/^error: cannot (write to|open) database .*gateway\.db: .*(readonly|read-only|unable to open)/i);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("database deleted while running", () => {
  test("noticed within seconds: /health 503, requests refused before the upstream", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url });
    try {
      const { key } = await gw.createKey("deleted");
      expect((await chat(gw, key)).status).toBe(200);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(gw.dbPath + suffix, { force: true });
      await until("health notices", async () => (await health(gw)).status === 503, 5000);
      expect((await health(gw)).body.reason).toMatch(/deleted/);
      const forwarded = upstream.received.length;
      const res = await chat(gw, key);
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorJson).error.code).toBe("usage_not_recorded");
      expect(upstream.received.length).toBe(forwarded);
    } finally {
      await gw.stop();
    }
  });
});

describe("database deleted under load", () => {
  test("not one 200 for a request sent after the file is gone: the writer checks the file before every commit", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    try {
      const { key } = await gw.createKey("deleted-under-load", 1_000_000);
      let deletedAt = 0;
      const after: number[] = [];
      const client = async () => {
        while (after.length < 300) {
          const sent = Date.now();
          const res = await chat(gw, key);
          await res.arrayBuffer();
          if (deletedAt && sent > deletedAt) after.push(res.status);
        }
      };
      const clients = Promise.all(Array.from({ length: 8 }, client));
      await Bun.sleep(300);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(gw.dbPath + suffix, { force: true });
      deletedAt = Date.now();
      await clients;
      expect(after.filter((s) => s === 200)).toEqual([]);
      expect(after.filter((s) => s !== 503)).toEqual([]);
    } finally {
      await gw.stop();
    }
  });
});

describe("a write lock held by another process", () => {
  test("the event loop never waits: health, verified keys and refusals answer at once; requests finish after the release", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_BUSY_TIMEOUT_MS: "8000" } });
    try {
      const { key } = await gw.createKey("locked");
      expect((await chat(gw, key)).status).toBe(200);
      const before = gw.rows().length;
      const lock = await holdWriteLock(gw.dbPath, 2500);
      const pending = Promise.all(Array.from({ length: 5 }, () => chat(gw, key)));
      await Bun.sleep(200);
      const slowest: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const [h, models, refused] = await Promise.all([
          fetch(`${gw.url}/health`),
          fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }),
          fetch(`${gw.url}/v1/models`, { headers: { authorization: "Bearer wrong-key-123456" } }),
        ]);
        slowest.push(performance.now() - t0);
        expect([h.status, models.status, refused.status]).toEqual([200, 200, 401]);
      }
      // On the old code each of these waited in SQLite's busy handler for seconds.
      expect(Math.max(...slowest)).toBeLessThan(250);
      await lock.released;
      const results = await pending;
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(gw.rows().length).toBe(before + 5);
    } finally {
      await gw.stop();
    }
  });

  test("past GATEWAY_BUSY_TIMEOUT_MS: 503 instead of the answer (a stream ends in an error event, not [DONE]), then recovery", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_BUSY_TIMEOUT_MS: "300" } });
    try {
      const { key } = await gw.createKey("locked-long");
      const before = gw.rows().length;
      const lock = await holdWriteLock(gw.dbPath, 2000);
      const [json, stream] = await Promise.all([chat(gw, key), chat(gw, key, { stream: true })]);
      expect(json.status).toBe(503);
      expect(((await json.json()) as ErrorJson).error.code).toBe("usage_not_recorded");
      const text = await stream.text();
      expect(text).not.toContain("[DONE]");
      expect(text).toContain('"code":"usage_not_recorded"');
      expect((await health(gw)).body.reason).toMatch(/locked/);
      const forwarded = upstream.received.length;
      expect((await chat(gw, key)).status).toBe(503);
      expect(upstream.received.length).toBe(forwarded);
      await lock.released;
      await until("recovery", async () => (await health(gw)).status === 200);
      expect((await chat(gw, key)).status).toBe(200);
      expect(gw.rows().length).toBe(before + 1);
    } finally {
      await gw.stop();
    }
  });
});

describe("absurd upstream usage", () => {
  test("negative, fractional or over 10^9 tokens are recorded as estimated and logged; reports stay exact", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: "admin-token-absurd-0123456789-xyz" } });
    try {
      const { key } = await gw.createKey("absurd");
      for (const usage of [{ prompt_tokens: 5e15, completion_tokens: 1 }, { prompt_tokens: -5, completion_tokens: 3 }, { prompt_tokens: 1.5, completion_tokens: 3 }]) {
        upstream.setHandler((body) =>
          Response.json({ id: "x", object: "chat.completion", model: body.model, choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage }),
        );
        expect((await chat(gw, key)).status).toBe(200);
      }
      upstream.reset();
      const rows = gw.rows();
      expect(rows).toHaveLength(3);
      for (const r of rows) {
        expect(r.estimated).toBe(1);
        expect(r.prompt_tokens as number).toBeLessThan(100);
        expect(r.prompt_tokens as number).toBeGreaterThan(0);
      }
      expect(gw.logs().match(/implausible usage/g)?.length).toBe(3);
      const report = await fetch(`${gw.url}/admin/usage?group_by=model`, { headers: { authorization: "Bearer admin-token-absurd-0123456789-xyz" } });
      expect(report.status).toBe(200);
      const total = ((await report.json()) as { total: { requests: number; estimated_requests: number } }).total;
      expect(total).toMatchObject({ requests: 3, estimated_requests: 3 });
      // Rows an older release stored as given: reports must not overflow (sum() would past 2^63).
      const sqlite = new Database(gw.dbPath);
      for (let i = 0; i < 20; i++) {
        sqlite.run(
          "INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, cost_nano_usd, estimated, upstream_status, latency_ms, streamed, created_at) VALUES ('old', (SELECT id FROM api_keys), 'gpt-4o-mini', 'openai', 5000000000000000, 1, 750000000000000000, 0, 200, 1, 0, ?)",
          [Date.now() - 86_400_000 * 2],
        );
      }
      sqlite.close();
      await Bun.sleep(600); // the roll-up job folds them
      for (const group of ["model", "key", "day"]) {
        const res = await fetch(`${gw.url}/admin/usage?group_by=${group}`, { headers: { authorization: "Bearer admin-token-absurd-0123456789-xyz" } });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { total: { requests: number } }).total.requests).toBe(23);
      }
      const cli = await runCli(["usage", "--by", "model", "--db", gw.dbPath], { cwd: gw.dir, env: { GATEWAY_SECRET: TEST_SECRET } });
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});

describe("migration dropping AUTOINCREMENT", () => {
  test("keeps every row of a large table, its ids and the roll-up watermark", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "old.db");
    // A database as the previous release left it: only the first migration, 4 KB pages, AUTOINCREMENT.
    const old = new Database(dbPath);
    const init = await Bun.file(join(import.meta.dir, "../../migrations/0000_init.sql")).text();
    for (const stmt of init.split("--> statement-breakpoint")) if (stmt.trim()) old.run(stmt);
    old.run(`CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
    const journal = (await Bun.file(join(import.meta.dir, "../../migrations/meta/_journal.json")).json()) as { entries: { when: number }[] };
    old.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES ('init', ?)`, [journal.entries[0]!.when]);
    old.run("INSERT INTO api_keys VALUES ('k1', 'one', 'h', 'l', 60, 1, 0, 0)");
    const n = 2_000_000;
    old.run("BEGIN");
    old.run(
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n})
       INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, cost_nano_usd, estimated, upstream_status, latency_ms, streamed, created_at)
       SELECT 'r' || i, 'k1', 'gpt-4o', 'openai', i % 1000, 7, i, 0, 200, 1, 0, 1700000000000 + i FROM s`,
    );
    old.run("DELETE FROM usage WHERE id = 10"); // a gap, as a retention job could leave
    old.run("COMMIT");
    const sums = () => old.query("SELECT count(*) AS n, max(id) AS maxId, sum(prompt_tokens) AS p, sum(cost_nano_usd) AS c FROM usage").get();
    const expected = sums();
    old.close();
    const { openDatabase } = await import("../../src/store/sqlite/client.ts");
    const db = openDatabase({ path: dbPath, busyTimeoutMs: 5000 });
    expect(db.$client.query("SELECT count(*) AS n, max(id) AS maxId, sum(prompt_tokens) AS p, sum(cost_nano_usd) AS c FROM usage").get()).toEqual(expected);
    const ddl = (db.$client.query("SELECT sql FROM sqlite_master WHERE name = 'usage'").get() as { sql: string }).sql;
    expect(ddl).not.toMatch(/AUTOINCREMENT/i);
    expect(db.$client.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage' ORDER BY name").all()).toEqual([
      { name: "usage_created_idx" },
      { name: "usage_key_created_idx" },
      { name: "usage_response_idx" },
    ]);
    // New rows continue above the highest id, so the roll-up watermark never skips one.
    db.$client.run(
      "INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, estimated, upstream_status, latency_ms, streamed, created_at) VALUES ('new', 'k1', 'm', 'p', 1, 1, 0, 200, 1, 0, 1)",
    );
    expect(db.$client.query("SELECT id FROM usage WHERE request_id = 'new'").get()).toEqual({ id: n + 1 });
    expect(db.$client.query("PRAGMA foreign_key_check").all()).toEqual([]);
    expect(db.$client.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    db.$client.close();
    rmSync(dir, { recursive: true, force: true }); // 300 MB: not kept until the end of the run
  });
});

test("a fresh database gets 1 KB pages; an existing one keeps its own", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "x"));
  const { openDatabase } = await import("../../src/store/sqlite/client.ts");
  const fresh = openDatabase({ path: join(dir, "x", "new.db"), busyTimeoutMs: 1000 });
  expect(fresh.$client.query("PRAGMA page_size").get()).toEqual({ page_size: 1024 });
  fresh.$client.close();
  const legacy = new Database(join(dir, "legacy.db"));
  legacy.run("CREATE TABLE t (x)");
  legacy.close();
  const opened = openDatabase({ path: join(dir, "legacy.db"), busyTimeoutMs: 1000 });
  expect(opened.$client.query("PRAGMA page_size").get()).toEqual({ page_size: 4096 });
  opened.$client.close();
});
