// /admin/keys: who may call it, every bad input, and that it shares the CLI's rules and errors.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const ADMIN = "admin-token-for-tests-0123456789";
const KEY_FIELDS = ["allowed_ips", "allowed_models", "budget_period", "budget_resets_at", "budget_usd", "cache_ttl_s", "created_at", "customer", "expires_at", "hint", "id", "is_active", "last_used_at", "max_output_tokens", "max_parallel", "name", "rate_limit_per_minute", "spent_usd", "tpm_limit", "updated_at"];
const upstream = startFakeUpstream();
let gw: TestGateway;
let customerKey: string;

const call = (method: string, path: string, body?: unknown, token: string | null = ADMIN) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };

beforeAll(async () => {
  gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN, GATEWAY_ADMIN_FAILURES_PER_MINUTE: "1000" } });
  customerKey = (await gw.createKey("existing", 50)).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

describe("admin authentication", () => {
  test("without GATEWAY_ADMIN_TOKEN every /admin route is a 404", async () => {
    const plain = await startGateway({ upstreamUrl: upstream.url });
    for (const [m, p] of [["GET", "/admin/keys"], ["POST", "/admin/keys"], ["GET", "/admin/usage"], ["GET", "/admin/usage/requests"], ["PATCH", "/admin/keys/x"]]) {
      const res = await fetch(`${plain.url}${p}`, { method: m!, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorJson).error.code).toBe("unknown_url");
    }
    await plain.stop();
  });

  test("wrong or missing token, or a customer key: 401 before any validation", async () => {
    for (const token of [null, "wrong-token", customerKey, `${ADMIN}x`, ADMIN.slice(0, -1)]) {
      for (const [m, p, body] of [["GET", "/admin/keys"], ["POST", "/admin/keys", { bad: true }], ["GET", "/admin/usage?group_by=nonsense"], ["PATCH", "/admin/keys/x", { is_active: "no" }]] as const) {
        const res = await call(m, p, body, token);
        expect(res.status).toBe(401);
        expect(((await res.json()) as ErrorJson).error).toMatchObject({ code: "invalid_admin_token", type: "invalid_request_error", param: null });
      }
    }
  });

  test("the admin token is not a customer key", async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(401);
    const create = await call("POST", "/admin/keys", { name: "sneaky", key: ADMIN });
    expect(create.status).toBe(400);
    expect(((await create.json()) as ErrorJson).error.message).toBe("a customer key must not equal the admin token");
  });
});

describe("/admin/keys", () => {
  test("create, get, list, patch; the plain key only once; never a hash", async () => {
    const created = await call("POST", "/admin/keys", { name: "http-made", key: "sk-http-made-123", rate_limit_per_minute: 25 });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: "http-made", key: "sk-http-made-123", rate_limit_per_minute: 25, is_active: true });
    const id = String(body.id);

    const got = (await (await call("GET", `/admin/keys/${id}`)).json()) as Record<string, unknown>;
    expect(Object.keys(got).sort()).toEqual(KEY_FIELDS);
    const list = (await (await call("GET", "/admin/keys")).json()) as Record<string, unknown>[];
    expect(list.map((k) => k.name)).toEqual(["existing", "http-made"]);
    expect(JSON.stringify(list)).not.toMatch(/\$2[aby]\$|key_hash|lookup|sk-http-made-123/);

    const patched = await call("PATCH", `/admin/keys/${id}`, { is_active: false, rate_limit_per_minute: 7, name: "http-renamed" });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id, name: "http-renamed", is_active: false, rate_limit_per_minute: 7 });
    const db = new Database(gw.dbPath, { readonly: true });
    expect(db.query("SELECT name, is_active, rate_limit_per_minute FROM api_keys WHERE id = ?").get(id)).toEqual({ name: "http-renamed", is_active: 0, rate_limit_per_minute: 7 });
    db.close();
    const refused = await fetch(`${gw.url}/v1/models`, { headers: { authorization: "Bearer sk-http-made-123" } });
    expect(refused.status).toBe(403);
    // A generated key works right away.
    const gen = (await (await call("POST", "/admin/keys", { name: "generated" })).json()) as { key: string; rate_limit_per_minute: number };
    expect(gen.key).toMatch(/^gw-[A-Za-z0-9_-]{43}$/);
    expect(gen.rate_limit_per_minute).toBe(60);
    expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gen.key}` } })).status).toBe(200);
  });

  test("bad input: same rules and messages as the CLI, nothing changed", async () => {
    const db = () => {
      const d = new Database(gw.dbPath, { readonly: true });
      const rows = d.query("SELECT * FROM api_keys ORDER BY id").all();
      d.close();
      return rows;
    };
    const before = db();
    const cases: [string, string, unknown, number, Partial<ErrorJson["error"]>][] = [
      ["POST", "/admin/keys", "{oops", 400, { code: "invalid_json" }],
      ["POST", "/admin/keys", {}, 400, { param: "name", code: "missing_required_parameter" }],
      ["POST", "/admin/keys", { name: 5 }, 400, { param: "name", code: "invalid_type" }],
      ["POST", "/admin/keys", { name: "x1", rate_limit_per_minute: "lots" }, 400, { param: "rate_limit_per_minute" }],
      ["POST", "/admin/keys", { name: "x1", rate_limit_per_minute: 1.5 }, 400, { param: "rate_limit_per_minute" }],
      ["POST", "/admin/keys", { name: "x1", rate_limit_per_minute: 0 }, 400, { message: "rate limit must be a positive integer (requests per minute), got '0'" }],
      ["POST", "/admin/keys", { name: "x1", key: "   " }, 400, { message: "key must not be empty or whitespace" }],
      ["POST", "/admin/keys", { name: "x1", key: "short" }, 400, { message: "key must be at least 8 characters" }],
      ["POST", "/admin/keys", { name: "  " }, 400, { message: "key name must not be empty" }],
      ["POST", "/admin/keys", { name: "existing" }, 409, { code: "conflict", message: "a key named 'existing' already exists" }],
      ["POST", "/admin/keys", { name: "x1", key: customerKey }, 409, { code: "conflict" }],
      ["GET", "/admin/keys/00000000-0000-4000-8000-000000000000", undefined, 404, { code: "not_found" }],
      ["PATCH", "/admin/keys/nobody", { is_active: true }, 404, { code: "not_found" }],
      ["PATCH", "/admin/keys/existing", {}, 400, { message: "nothing to change: give at least one setting to change" }],
      ["PATCH", "/admin/keys/existing", { is_active: "yes" }, 400, { param: "is_active" }],
      ["PATCH", "/admin/keys/existing", { rate_limit_per_minute: -3 }, 400, { message: "rate limit must be a positive integer (requests per minute), got '-3'" }],
      ["PATCH", "/admin/keys/existing", { name: "generated" }, 409, { code: "conflict" }],
      ["DELETE", "/admin/keys", undefined, 404, { code: "unknown_url" }],
    ];
    for (const [m, p, body, status, error] of cases) {
      const res = await call(m, p, body);
      const json = (await res.json()) as ErrorJson;
      expect({ m, p, body, status: res.status }).toEqual({ m, p, body, status });
      expect(json.error).toMatchObject({ type: "invalid_request_error", ...error });
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    expect(db()).toEqual(before);
    // The CLI says the same thing for the same mistake.
    const cli = await runCli(["create-key", "x1", "sk-valid-key-1", "0", "--db", gw.dbPath], { cwd: gw.dir, env: gw.env });
    expect(cli.stderr).toBe("error: rate limit must be a positive integer (requests per minute), got '0'\n");
  });
});
