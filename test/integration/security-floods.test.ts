// Secrets stay secret, names stay literal, and floods of bad keys or one greedy key hurt no one else.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { readFileSync } from "node:fs";
import { runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const ADMIN = "admin-token-security-0123456789-xyz";
const upstream = startFakeUpstream();
afterAll(() => upstream.stop());
const chat = (g: TestGateway, key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...extra }),
  });

describe("secrets", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
  });
  afterAll(() => gw.stop());

  test("customer key, provider key and admin token never appear in logs, error bodies or the database", async () => {
    const { key } = await gw.createKey("secretive", 1000);
    const bodies: string[] = [];
    const collect = async (r: Response) => void bodies.push(JSON.stringify([...r.headers]) + (await r.text()));
    await collect(await chat(gw, key));
    await collect(await chat(gw, key, { stream: true }));
    await collect(await chat(gw, `${key}x`)); // near miss
    await collect(await chat(gw, key, { model: 42 }));
    await collect(await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}x` } }));
    // An upstream that echoes the provider key in its errors, as real providers do.
    for (const status of [400, 401, 500]) {
      upstream.setHandler((_b, req) => Response.json({ error: { message: `Bad key: ${req.headers.get("authorization")}`, type: "x", param: null, code: null } }, { status }));
      const r = await chat(gw, key);
      if (status === 401) expect(r.status).toBe(502);
      await collect(r);
    }
    upstream.reset();
    await gw.stop();
    const logs = gw.logs();
    const db = Buffer.concat([readFileSync(gw.dbPath), ...["-wal"].map((s) => { try { return readFileSync(gw.dbPath + s); } catch { return Buffer.alloc(0); } })]);
    for (const secret of [key, PROVIDER_KEY, ADMIN]) {
      expect(logs).not.toContain(secret);
      for (const b of bodies) expect(b).not.toContain(secret);
      expect(db.includes(secret)).toBe(false);
    }
    expect(logs).toContain("refused the gateway's provider key");
    gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
  });

  test("the admin token is compared in constant time, over fixed-length digests", async () => {
    const { createAdminGuard } = await import("../../src/keys/admin-auth.ts");
    const spy = spyOn(crypto, "timingSafeEqual");
    try {
      const guard = createAdminGuard([{ name: "admin", token: ADMIN, role: "admin" }]);
      const req = (t: string) => new Request("http://localhost/admin/keys", { headers: { authorization: `Bearer ${t}` } });
      expect(() => guard(req(ADMIN))).not.toThrow();
      for (const wrong of ["x", `${ADMIN}x`, ADMIN.slice(0, -1), "y".repeat(5000)]) expect(() => guard(req(wrong))).toThrow();
      expect(spy).toHaveBeenCalledTimes(5);
      for (const [a, b] of spy.mock.calls as unknown as [Buffer, Buffer][]) expect([a.length, b.length]).toEqual([32, 32]);
    } finally {
      spy.mockRestore();
    }
  });

  test("names with SQL and shell metacharacters are stored and shown literally; no hash is ever shown", async () => {
    const name = `acme'; DROP TABLE api_keys; -- $(touch /tmp/pwned) \`id\` "q" <b>&amp;`;
    const created = await runCli(["create-key", name, "--generate", "10"], { cwd: gw.dir, binary: `${gw.dir}/gateway`, env: gw.env });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`API key '${name}' created successfully!`);
    const key = /Plain key \(save this securely\): (\S+)/.exec(created.stdout)![1]!;
    const list = await runCli(["list-keys", "--json"], { cwd: gw.dir, binary: `${gw.dir}/gateway`, env: gw.env });
    const keys = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(keys.map((k) => k.name)).toContain(name);
    expect(list.stdout).not.toMatch(/\$2[aby]\$/);
    const table = await runCli(["list-keys"], { cwd: gw.dir, binary: `${gw.dir}/gateway`, env: gw.env });
    expect(table.stdout).toContain(name);
    const admin = await (await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect((JSON.parse(admin) as { name: string }[]).map((k) => k.name)).toContain(name);
    expect(admin).not.toMatch(/\$2[aby]\$|key_hash|lookup/);
    const model = `gpt-4o'; DELETE FROM usage; -- $(reboot)`;
    const res = await chat(gw, key, { model }, { "x-request-id": "meta-model" });
    expect(res.status).toBe(200);
    const db = new Database(gw.dbPath, { readonly: true });
    expect(db.query("SELECT model_requested FROM usage WHERE request_id = 'meta-model'").get()).toEqual({ model_requested: model });
    expect((db.query("SELECT name FROM api_keys").all() as { name: string }[]).map((r) => r.name)).toContain(name);
    db.close();
    const report = (await (await fetch(`${gw.url}/admin/usage?group_by=model`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { rows: { model: string }[] };
    expect(report.rows.map((r) => r.model)).toContain(model);
  });
});

describe("floods", () => {
  test("10,000 requests with random unknown keys: no bcrypt, no rows, memory flat, real customers unaffected", async () => {
    const verify = spyOn(Bun.password, "verify");
    const gw = await startGateway({ upstreamUrl: upstream.url });
    try {
      const { key } = await gw.createKey("real", 1_000_000);
      expect((await chat(gw, key)).status).toBe(200);
      const bcryptBefore = verify.mock.calls.length;
      const rowsBefore = gw.rows().length;
      Bun.gc(true);
      const heapBefore = process.memoryUsage().heapUsed;
      let realOk = 0;
      for (let round = 0; round < 100; round++) {
        const flood = Array.from({ length: 100 }, () =>
          fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer sk-${crypto.randomUUID()}` }, body: "{}" }).then((r) => r.status),
        );
        const real = chat(gw, key).then(async (r) => (await r.text(), r.status));
        const statuses = await Promise.all(flood);
        expect(statuses.every((s) => s === 401)).toBe(true);
        if ((await real) === 200) realOk++;
      }
      expect(realOk).toBe(100);
      expect(verify.mock.calls.length).toBe(bcryptBefore); // not one bcrypt for 10,000 unknown keys
      expect(gw.rows().length - rowsBefore).toBe(100); // only the real customer's requests
      Bun.gc(true);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(20 * 1024 * 1024);
    } finally {
      verify.mockRestore();
      await gw.stop();
    }
  });

  test("one key hammering far past its limit: exactly its limit passes, other keys unaffected", async () => {
    await awayFromMinuteEdge();
    const gw = await startGateway({ upstreamUrl: upstream.url });
    try {
      const greedy = await gw.createKey("greedy", 40);
      const polite = await gw.createKey("polite", 40);
      await chat(gw, polite.key); // verified before the storm
      const storm = Array.from({ length: 400 }, () => chat(gw, greedy.key).then(async (r) => (await r.text(), r.status)));
      const politeResults = Array.from({ length: 30 }, () => chat(gw, polite.key).then(async (r) => (await r.text(), r.status)));
      const s = await Promise.all(storm);
      expect(s.filter((x) => x === 200)).toHaveLength(40);
      expect(s.filter((x) => x === 429)).toHaveLength(360);
      expect(await Promise.all(politeResults)).toEqual(Array(30).fill(200));
      const byKey = new Map<unknown, number>();
      for (const r of gw.rows()) byKey.set(r.key_id, (byKey.get(r.key_id) ?? 0) + 1);
      expect(byKey.get(greedy.id)).toBe(40);
      expect(byKey.get(polite.id)).toBe(31);
    } finally {
      await gw.stop();
    }
  });
});
