// The audit log: every change to keys, customers and credits, from the CLI (OS user and host), the admin
// API and the dashboard (the admin token's name), a one-time link's claim (its address) and a direct
// UPDATE of the database ('database'); before/after of the changed fields, never a key, hash or digest;
// append-only; `gateway audit` and GET /admin/audit show the same. Compiled binary, SQLite and PostgreSQL.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hostname, userInfo } from "node:os";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

setDefaultTimeout(120_000);

const ROOT = "audit-root-token-0123456789-abcdefXYZ";
const OPS = "audit-ops-token-0123456789-abcdefQRST";
const VIEWER = "audit-viewer-token-0123456789-abcdUVW";
const CONFIG = `[[admins]]\nname = "ops"\ntoken_env = "OPS_TOKEN"\nrole = "admin"\n\n[[admins]]\nname = "auditor"\ntoken_env = "VIEWER_TOKEN"\nrole = "viewer"\n`;
const CLI = `cli:${userInfo().username}@${hostname()}`;
const upstream = startFakeUpstream();
let gw: TestGateway;
let pg: TestPostgres | undefined;

interface Entry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: { type: string; id: string; name: string };
  changes: Record<string, { before: unknown; after: unknown }>;
}

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ROOT, OPS_TOKEN: OPS, VIEWER_TOKEN: VIEWER }, configToml: CONFIG });
}, 600_000);
afterAll(async () => {
  await gw.stop();
  await pg?.stop();
  await upstream.stop();
});

const call = (g: TestGateway, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${g.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
const ok = async (res: Response | Promise<Response>) => {
  const r = await res;
  if (r.status >= 300) throw new Error(`${r.status} ${await r.text()}`);
  return r.json() as Promise<Record<string, unknown>>;
};
const auditOf = async (g: TestGateway, query = "") => (await ok(call(g, VIEWER, "GET", `/admin/audit${query}`))) as unknown as { entries: Entry[]; next_before: number | null };
const cli = async (g: TestGateway, args: string[]) => {
  const r = await g.cli(args);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
};
/** Oldest first: [actor, action, subject name, changes]. */
const trail = (entries: Entry[]) => entries.toReversed().map((e) => [e.actor, e.action, e.subject.name, e.changes]);

describe("audit log (SQLite)", () => {
  test("every action on a key from the CLI, the admin API, the dashboard, a link and the database is recorded with its actor and changed fields", async () => {
    const made = await cli(gw, ["create-key", "audited", "--generate", "60", "--budget", "10"]);
    const key = /Plain key \(save this securely\): (\S+)/.exec(made)![1]!;
    const { id } = (await ok(call(gw, OPS, "GET", "/admin/keys/audited"))) as { id: string };
    await ok(call(gw, OPS, "PATCH", `/admin/keys/${id}`, { budget_usd: "20", tpm_limit: 1000 }));
    await ok(call(gw, OPS, "PATCH", `/admin/keys/${id}`, { is_active: false }, { "x-gateway-client": "dashboard" }));
    await cli(gw, ["enable-key", "audited"]);
    const db = new Database(gw.dbPath);
    db.run("UPDATE api_keys SET rate_limit_per_minute = 5 WHERE name = 'audited'");
    db.close();
    const rotated = (await ok(call(gw, ROOT, "POST", `/admin/keys/${id}/rotate`, { share: "1h" }))) as { claim_url: string };
    const claimed = (await ok(fetch(new URL(new URL(rotated.claim_url).pathname, gw.url), { method: "POST" }))) as { key: string };
    await cli(gw, ["delete-key", "audited"]);

    const { entries } = await auditOf(gw, "?subject=audited");
    expect(trail(entries)).toEqual([
      [CLI, "key.created", "audited", expect.objectContaining({ name: { before: null, after: "audited" }, rate_limit_per_minute: { before: null, after: 60 }, budget_usd: { before: null, after: "10.00" }, is_active: { before: null, after: true } })],
      ["admin:ops", "key.updated", "audited", { budget_usd: { before: "10.00", after: "20.00" }, tpm_limit: { before: null, after: 1000 } }],
      ["dashboard:ops", "key.disabled", "audited", { is_active: { before: true, after: false } }],
      [CLI, "key.enabled", "audited", { is_active: { before: false, after: true } }],
      ["database", "key.updated", "audited", { rate_limit_per_minute: { before: 60, after: 5 } }],
      ["admin:admin", "key.rotated", "audited", { hint: { before: key.slice(-4), after: claimed.key.slice(-4) } }],
      ["link from 127.0.0.1", "key.claimed", "audited", expect.objectContaining({ claimed_from: { before: null, after: "127.0.0.1" } })],
      [CLI, "key.deleted", "audited", expect.objectContaining({ is_active: { before: true, after: false }, deleted_at: { before: null, after: expect.stringMatching(/^\d{4}-/) } })],
    ]);
    for (const e of entries) expect(e.subject).toEqual({ type: "key", id, name: "audited" });
    // Never the key, its hash or its lookup digest.
    const raw = new Database(gw.dbPath, { readonly: true });
    const stored = JSON.stringify(raw.query("SELECT * FROM audit_log").all());
    const secrets = raw.query("SELECT key_hash, lookup, previous_lookup FROM api_keys WHERE id = ?").get(id) as Record<string, string | null>;
    raw.close();
    for (const secret of [key, claimed.key, secrets.key_hash!, secrets.lookup!]) expect(stored).not.toContain(secret);
    expect(stored).not.toMatch(/key_hash|lookup/);
  });

  test("customers and credits from the CLI and the admin API; a direct UPDATE is the database's; the log is append-only", async () => {
    await cli(gw, ["create-customer", "acme-audit", "--budget", "100"]);
    await ok(call(gw, OPS, "PATCH", "/admin/customers/acme-audit", { max_parallel: 4, prepaid: true }));
    await cli(gw, ["credits", "add", "acme-audit", "25", "--note", "invoice 7"]);
    await ok(call(gw, OPS, "POST", "/admin/customers/acme-audit/credits", { amount_usd: "-5", note: "refund" }));
    await cli(gw, ["disable-customer", "acme-audit"]);
    const db = new Database(gw.dbPath);
    db.run("UPDATE customers SET is_active = 1 WHERE name = 'acme-audit'");
    // Members bumping the customer's version is not a change anyone made to it: no entry.
    await cli(gw, ["create-key", "acme-member", "--generate", "60", "--customer", "acme-audit"]);
    await cli(gw, ["update-key", "acme-member", "--no-customer"]);
    await ok(call(gw, OPS, "DELETE", "/admin/customers/acme-audit"));
    expect(() => db.run("DELETE FROM audit_log")).toThrow("audit_log is append-only");
    expect(() => db.run("UPDATE audit_log SET actor = 'someone else'")).toThrow("audit_log is append-only");
    db.close();

    const { entries } = await auditOf(gw, "?subject=acme-audit");
    expect(trail(entries)).toEqual([
      [CLI, "customer.created", "acme-audit", expect.objectContaining({ name: { before: null, after: "acme-audit" }, budget_usd: { before: null, after: "100.00" } })],
      ["admin:ops", "customer.updated", "acme-audit", { max_parallel: { before: null, after: 4 }, prepaid: { before: false, after: true } }],
      [CLI, "credits.added", "acme-audit", { entry: { before: null, after: expect.any(Number) }, amount_usd: { before: null, after: "25.00" }, note: { before: null, after: "invoice 7" } }],
      ["admin:ops", "credits.added", "acme-audit", expect.objectContaining({ amount_usd: { before: null, after: "-5.00" }, note: { before: null, after: "refund" } })],
      [CLI, "customer.disabled", "acme-audit", { is_active: { before: true, after: false } }],
      ["database", "customer.enabled", "acme-audit", { is_active: { before: false, after: true } }],
      ["admin:ops", "customer.deleted", "acme-audit", expect.objectContaining({ name: { before: "acme-audit", after: null }, prepaid: { before: true, after: null } })],
    ]);
    const member = trail((await auditOf(gw, "?subject=acme-member")).entries).map(([actor, action, , changes]) => [actor, action, Object.keys(changes as object).includes("customer_id")]);
    expect(member).toEqual([
      [CLI, "key.created", true],
      [CLI, "key.updated", true],
    ]);
  });

  test("gateway audit shows the same entries as the API, as a table and as JSON; --since and pages; bad input is a clear error", async () => {
    const api = (await auditOf(gw, "?since=1h&limit=1000")).entries;
    const json = JSON.parse(await cli(gw, ["audit", "--since", "1h", "--limit", "1000", "--json"])) as Entry[];
    expect(json).toEqual(api);
    const table = await cli(gw, ["audit", "--subject", "audited"]);
    expect(table.split("\n")[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+SUBJECT\s+CHANGES$/);
    expect(table).toContain("dashboard:ops");
    expect(table).toMatch(/key\.updated\s+audited\s+budget_usd: 10\.00 → 20\.00, tpm_limit: 1000/);
    expect(await cli(gw, ["audit", "--since", "2020-01-01", "--subject", "nobody"])).toBe("No changes recorded in that range.\n");
    const first = await auditOf(gw, "?limit=2");
    expect(first.entries.map((e) => e.id)).toEqual([api[0]!.id, api[1]!.id]);
    const second = await auditOf(gw, `?limit=2&before=${first.next_before}`);
    expect(second.entries.map((e) => e.id)).toEqual([api[2]!.id, api[3]!.id]);
    const bad = await call(gw, VIEWER, "GET", "/admin/audit?since=yesterday");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { message: "since must be a duration such as 7d or 12h, or an ISO date such as 2026-12-01, got 'yesterday'" } });
    const badCli = await gw.cli(["audit", "--limit", "0"]);
    expect([badCli.code, badCli.stderr.trim()]).toEqual([1, "error: limit must be a whole number from 1 to 1000, got '0'"]);
    expect((await call(gw, VIEWER, "POST", "/admin/audit")).status).toBe(403);
  });
});

describe("audit log (PostgreSQL)", () => {
  test("the same triggers on PostgreSQL: CLI, admin API and psql changes with their actors; append-only", async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    const g = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_DATABASE_URL: url, GATEWAY_ADMIN_TOKEN: ROOT, OPS_TOKEN: OPS, VIEWER_TOKEN: VIEWER }, configToml: CONFIG });
    const sql = new SQL(url);
    try {
      await cli(g, ["create-key", "pg-audited", "--generate", "60"]);
      const { id } = (await ok(call(g, OPS, "PATCH", "/admin/keys/pg-audited", { budget_usd: "3" }))) as { id: string };
      await sql`UPDATE api_keys SET is_active = false WHERE id = ${id}`;
      await cli(g, ["create-customer", "pg-acme"]);
      await cli(g, ["credits", "add", "pg-acme", "2"]);
      await ok(call(g, OPS, "DELETE", "/admin/customers/pg-acme"));
      await ok(call(g, ROOT, "DELETE", `/admin/keys/${id}`));
      await expect(sql`DELETE FROM audit_log`.then(() => "deleted")).rejects.toThrow("audit_log is append-only");
      const { entries } = await auditOf(g);
      expect(trail(entries)).toEqual([
        [CLI, "key.created", "pg-audited", expect.objectContaining({ is_active: { before: null, after: true } })],
        ["admin:ops", "key.updated", "pg-audited", { budget_usd: { before: null, after: "3.00" } }],
        ["database", "key.disabled", "pg-audited", { is_active: { before: true, after: false } }],
        [CLI, "customer.created", "pg-acme", expect.objectContaining({ name: { before: null, after: "pg-acme" } })],
        [CLI, "credits.added", "pg-acme", expect.objectContaining({ amount_usd: { before: null, after: "2.00" } })],
        ["admin:ops", "customer.deleted", "pg-acme", expect.objectContaining({ name: { before: "pg-acme", after: null } })],
        ["admin:admin", "key.deleted", "pg-audited", expect.objectContaining({ deleted_at: { before: null, after: expect.stringMatching(/^\d{4}-/) } })],
      ]);
    } finally {
      await sql.close();
      await g.stop();
    }
  });
});
