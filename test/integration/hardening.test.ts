// Admin brute force, weak admin tokens, hidden characters in names, and CLI commands that must create nothing.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway } from "../helpers/gateway.ts";
import { TEST_SECRET } from "../helpers/harness.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(60_000);

const ADMIN = "admin-token-hardening-0123456789";
const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

describe("admin token", () => {
  test("guessing is throttled per client address after 20 failures a minute, logged without the token; the right token is never locked out", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        const res = await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer guess-number-${i}-secret` } });
        statuses.push(res.status);
        if (res.status === 429) expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      }
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
      // Whoever guessed from the admin's address (behind a proxy: everyone), the right token still works.
      expect((await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
      expect((await fetch(`${gw.url}/admin/keys`, { headers: { authorization: "Bearer one-more-guess" } })).status).toBe(429);
      const logs = gw.logs();
      expect(logs).toContain("admin authentication failed from 127.0.0.1");
      expect(logs).not.toContain("guess-number");
      expect(logs.match(/admin authentication failed/g)?.length).toBe(2);
    } finally {
      await gw.stop();
    }
  });

  test("a weak GATEWAY_ADMIN_TOKEN (short, or long but guessable) is refused at start", async () => {
    const dir = tempDir();
    for (const weak of ["a", "admin-token-0123456789", "a".repeat(40), "abababababababababababababababababab", "passwordpasswordpasswordpassword"]) {
      const r = await runCli(["serve", "--port", "0", "--db", join(dir, "g.db")], { cwd: dir, env: { GATEWAY_ADMIN_TOKEN: weak, GATEWAY_SECRET: TEST_SECRET, OPENAI_API_KEY: "sk-x" } });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe("error: GATEWAY_ADMIN_TOKEN must be at least 32 random characters, 128 bits or more (e.g. openssl rand -hex 24)");
      expect(existsSync(join(dir, "g.db"))).toBe(false);
    }
  });

  test("with the admin API off, every /admin request is 404 whatever its body", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url });
    try {
      const res = await fetch(`${gw.url}/admin/keys`, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unknown_url");
    } finally {
      await gw.stop();
    }
  });
});

describe("hidden characters", () => {
  const hidden = ["\u0085", "\u009b", "\u202e", "\u2066", "\u200f", "\u0007"];

  test("key names with controls, bidi overrides or isolates are refused; so are such customer model names", async () => {
    const gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
    try {
      for (const c of hidden) {
        const r = await runCli(["create-key", `evil${c}name`, "--db", gw.dbPath], { cwd: gw.dir, env: { GATEWAY_SECRET: TEST_SECRET } });
        expect(r.code).toBe(1);
        expect(r.stderr).toStartWith("error: key name must not contain control or invisible formatting characters");
        const res = await fetch(`${gw.url}/admin/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify({ name: `evil${c}` }) });
        expect(res.status).toBe(400);
      }
      const { key } = await gw.createKey("visible");
      for (const c of hidden) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ model: `gpt-4o${c}`, messages: [{ role: "user", content: "hi" }] }),
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: { param: string } }).error.param).toBe("model");
      }
      expect(gw.rows()).toHaveLength(0);
    } finally {
      await gw.stop();
    }
  });

  test("CLI tables print non-printable characters escaped (rows written before the check, or by hand)", async () => {
    const dir = tempDir();
    const db = join(dir, "g.db");
    const env = { GATEWAY_SECRET: TEST_SECRET };
    expect((await runCli(["create-key", "plain-name", "--db", db], { cwd: dir, env })).code).toBe(0);
    const sqlite = new Database(db);
    sqlite.run("UPDATE api_keys SET name = ?", ["acme\u202eevil\u0085\u001b[2J"]);
    const id = (sqlite.query("SELECT id FROM api_keys").get() as { id: string }).id;
    sqlite.run(
      "INSERT INTO usage (request_id, key_id, model_requested, provider, prompt_tokens, completion_tokens, estimated, upstream_status, latency_ms, streamed, created_at) VALUES ('r', ?, ?, 'p', 1, 1, 0, 200, 1, 0, ?)",
      [id, "gpt\u009b4", Date.now()],
    );
    sqlite.close();
    const list = await runCli(["list-keys", "--db", db], { cwd: dir, env });
    expect(list.stdout).toContain("acme\\u202eevil\\u0085\\u001b[2J");
    expect(list.stdout).not.toMatch(/[\u0085\u202e\u001b]/);
    const usage = await runCli(["usage", "--by", "model", "--db", db], { cwd: dir, env });
    expect(usage.stdout).toContain("gpt\\u009b4");
    expect(usage.stdout).not.toContain("\u009b");
  });
});

describe("CLI commands that must create nothing", () => {
  for (const args of [["list-keys"], ["disable-key", "x"], ["enable-key", "x"], ["set-rate-limit", "x", "5"], ["usage"]]) {
    test(`${args[0]} on a missing database says so and creates no file`, async () => {
      const dir = tempDir();
      const r = await runCli([...args, "--db", join(dir, "missing.db")], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`error: no database at ${join(dir, "missing.db")} (set GATEWAY_DB or --db)`);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  test("no command writes a new secret file for a database that already has keys", async () => {
    const dir = tempDir();
    const db = join(dir, "g.db");
    expect((await runCli(["create-key", "has-keys", "--db", db], { cwd: dir })).code).toBe(0);
    rmSync(`${db}.secret`);
    for (const args of [["list-keys"], ["disable-key", "has-keys"], ["create-key", "another"], ["usage"]]) {
      const r = await runCli([...args, "--db", db], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/^error: secret file .*g\.db\.secret is missing, but this database already has keys/);
      expect(existsSync(`${db}.secret`)).toBe(false);
    }
    const serve = await runCli(["serve", "--port", "0", "--db", db], { cwd: dir, env: { OPENAI_API_KEY: "sk-x" } });
    expect(serve.code).toBe(1);
    expect(existsSync(`${db}.secret`)).toBe(false);
  });
});
