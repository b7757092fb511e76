// Signed webhooks against the compiled binary: every event verifies with the `standardwebhooks` library
// (and fails with a wrong secret); key events arrive in order, each once; budgets, credits, expiry and
// provider health make their events once; a receiver that was down gets every event once when it is back;
// a 4xx is given up; a gateway killed mid-delivery sends the event again after a restart.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { runCli } from "../helpers/cli.ts";
import { newSecret, startReceiver } from "../helpers/webhook-receiver.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(120_000);

const ADMIN = "webhooks-admin-token-0123456789-abcXYZ";
const SECRET = newSecret();
const upstream = startFakeUpstream();
const receiver = startReceiver(SECRET);
const METRICS = "webhooks-metrics-token-0123456789-abc";
const FAST = { GATEWAY_METRICS_TOKEN: METRICS, GATEWAY_ALERT_CHECK_MS: "200", GATEWAY_WEBHOOK_POLL_MS: "100", GATEWAY_WEBHOOK_RETRY_MS: "100", GATEWAY_WEBHOOK_TIMEOUT_MS: "1000", GATEWAY_MAX_RETRIES: "0" };
const config = (url: string, extra = "") =>
  `cooldown_failures = 1\ncooldown_ms = 1000\n${extra}\n[alerts]\nbudget_thresholds = [50, 80, 100]\ncredits_low_usd = 1000\nkey_expiring_days = [7, 1]\n\n[[webhooks]]\nname = "ops"\nurl = "${url}"\nsecret_env = "HOOK_SECRET"\n`;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN, HOOK_SECRET: SECRET, ...FAST }, configToml: config(receiver.url) });
}, 600_000);
afterAll(async () => {
  await gw.stop();
  await receiver.stop();
  await upstream.stop();
});

const cli = async (args: string[]) => {
  const r = await gw.cli(args);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
};
const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
const about = (name: string) => receiver.events.filter((e) => e.data.key?.name === name || e.data.customer?.name === name);

describe("signed webhooks", () => {
  test("key events from the CLI and the admin API arrive in order, signed (the library verifies them; a wrong secret does not)", async () => {
    await cli(["create-key", "hooked", "--generate", "60"]);
    expect((await admin("PATCH", "/admin/keys/hooked", { budget_usd: "5" })).status).toBe(200);
    expect((await admin("PATCH", "/admin/keys/hooked", { is_active: false })).status).toBe(200);
    await cli(["enable-key", "hooked"]);
    await cli(["rotate-key", "hooked", "--generate"]);
    await cli(["delete-key", "hooked"]);
    const got = await until("six key events", () => about("hooked").length >= 6 && about("hooked"));
    expect(got.map((e) => e.type)).toEqual(["key.created", "key.updated", "key.disabled", "key.enabled", "key.rotated", "key.deleted"]);
    expect(got.every((e) => e.verified)).toBe(true);
    expect(got[1]!.data).toMatchObject({ key: { name: "hooked" }, actor: "admin:admin", changes: { budget_usd: { before: null, after: "5.00" } } });
    expect(got[2]!.data.changes).toEqual({ is_active: { before: true, after: false } });
    const first = got[0]!;
    expect(first.id).toMatch(/^evt_\d+$/);
    expect(JSON.parse(first.raw)).toEqual({ type: "key.created", id: first.id, timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), data: expect.any(Object) });
    expect(() => new Webhook(newSecret()).verify(first.raw, first.headers)).toThrow();
    expect(() => new Webhook(SECRET).verify(first.raw.replace("hooked", "hooker"), first.headers)).toThrow();
    expect(new Set(got.map((e) => e.id)).size).toBe(6);
  });

  test("budget thresholds 50/80/100 % once each per period; low and exhausted credits; a key's expiry warning; a provider going down and up", async () => {
    const { key } = await gw.createKey("spender", 1000, ["--budget", "1"]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    const cost = Number(res.headers.get("x-gateway-cost-usd"));
    expect(cost).toBeGreaterThan(0);
    await cli(["update-key", "spender", "--budget", (cost * 2).toFixed(9)]);
    await until("the 50 % event", () => about("spender").length >= 1);
    await cli(["update-key", "spender", "--budget", (cost / 0.85).toFixed(9)]);
    await until("the 80 % event", () => about("spender").filter((e) => e.type === "budget.threshold").length >= 2);
    await cli(["update-key", "spender", "--budget", cost.toFixed(9)]);
    await until("the 100 % event", () => about("spender").filter((e) => e.type === "budget.threshold").length >= 3);
    await Bun.sleep(1000); // five more checks: nothing new
    const thresholds = about("spender").filter((e) => e.type === "budget.threshold");
    expect(thresholds.map((e) => e.data.threshold_percent)).toEqual([50, 80, 100]);
    const costText = res.headers.get("x-gateway-cost-usd")!;
    expect(thresholds[2]!.data).toMatchObject({ key: { name: "spender" }, budget_usd: costText, spent_usd: costText, threshold_percent: 100, period: "month", period_start: expect.stringMatching(/-01T00:00:00.000Z$/) });

    await cli(["create-customer", "hooked-co", "--prepaid"]);
    await cli(["credits", "add", "hooked-co", "10"]);
    const low = await until("credits.low", () => about("hooked-co").find((e) => e.type === "credits.low"));
    expect(low.data).toMatchObject({ customer: { name: "hooked-co" }, balance_usd: "10.00", below_usd: "1000.00" });
    const taken = await runCli(["credits", "add", "--db", gw.dbPath, "hooked-co", "--", "-10"], { cwd: gw.dir, binary: `${gw.dir}/gateway`, env: gw.env });
    expect(taken.stdout).toBe("Added $-10.00 to 'hooked-co': balance $0.00.\n");
    const out = await until("credits.exhausted", () => about("hooked-co").find((e) => e.type === "credits.exhausted"));
    expect(out.data).toMatchObject({ balance_usd: "0.00", credits_usd: "0.00" });

    await cli(["create-key", "short-lived", "--generate", "60", "--expires", "12h"]);
    const expiring = await until("key.expiring", () => receiver.of("key.expiring").find((e) => e.data.key.name === "short-lived"));
    expect(expiring.data.within_days).toBe(1);

    await cli(["update-key", "spender", "--budget", "1"]);
    upstream.setHandler(() => new Response(JSON.stringify({ error: { message: "overloaded" } }), { status: 500, headers: { "content-type": "application/json" } }));
    expect((await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) })).status).toBeGreaterThanOrEqual(500);
    upstream.reset();
    expect((await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) })).status).toBe(200);
    const health = await until("provider down and up", () => receiver.events.filter((e) => e.type.startsWith("provider.")).length >= 2 && receiver.events.filter((e) => e.type.startsWith("provider.")));
    expect(health.map((e) => [e.type, e.data.provider])).toEqual([["provider.down", "openai"], ["provider.up", "openai"]]);
    expect(receiver.events.filter((e) => e.type === "credits.low" || e.type === "credits.exhausted" || e.type === "key.expiring").length).toBe(3);
  });

  test("a receiver down for a while gets every event once when it is back, in order; webhooks list shows them pending meanwhile; metrics count the retries", async () => {
    receiver.set("down");
    const before = receiver.events.length;
    for (const name of ["outage-a", "outage-b"]) {
      await cli(["create-key", name, "--generate", "60"]);
      await cli(["disable-key", name]);
      await cli(["enable-key", name]);
    }
    const pending = await until("retried deliveries", async () => {
      const rows = JSON.parse(await cli(["webhooks", "list", "--json"])) as { type: string; status: string; attempts: number; last_error: string }[];
      return rows.some((r) => r.attempts >= 2) && rows;
    });
    expect(pending.every((r) => r.status === "pending")).toBe(true);
    expect(pending.find((r) => r.attempts >= 2)!.last_error).toBe("HTTP 503");
    receiver.set("ok");
    await until("all six", () => receiver.events.length >= before + 6);
    await Bun.sleep(500);
    const after = receiver.events.slice(before);
    expect(after.length).toBe(6);
    for (const name of ["outage-a", "outage-b"]) expect(about(name).map((e) => e.type)).toEqual(["key.created", "key.disabled", "key.enabled"]);
    expect(await cli(["webhooks", "list"])).toBe("Every webhook event was delivered.\n");
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
    expect(metrics).toMatch(/gateway_webhook_deliveries_total\{endpoint="ops",outcome="retried"\} [1-9]/);
    expect(metrics).toMatch(/gateway_webhook_deliveries_total\{endpoint="ops",outcome="delivered"\} [1-9]/);
  });

  test("a 4xx is not retried: the delivery fails, is listed with its error, and the subject's later events still go", async () => {
    receiver.set("bad-request");
    await cli(["create-key", "refused-hook", "--generate", "60"]);
    const failed = await until("a failed delivery", async () => {
      const rows = JSON.parse(await cli(["webhooks", "list", "--json"])) as { type: string; status: string; attempts: number; last_error: string }[];
      return rows.find((r) => r.status === "failed");
    });
    expect(failed).toMatchObject({ type: "key.created", attempts: 1, last_error: "HTTP 400" });
    receiver.set("ok");
    await cli(["disable-key", "refused-hook"]);
    await until("the next event", () => about("refused-hook").length === 1);
    expect(about("refused-hook").map((e) => e.type)).toEqual(["key.disabled"]);
    expect(gw.logs()).toContain("failed for good after 1 attempt(s): HTTP 400 (a 4xx other than 408/429 is not retried)");
    // The signing secret is never logged, nor the receiver's URL (it may carry a token): endpoints go by name.
    for (const secret of [SECRET, SECRET.slice("whsec_".length), receiver.url]) expect(gw.logs()).not.toContain(secret);
  });

  test("gateway webhooks test sends a signed test event and says what the receiver answered", async () => {
    const out = await gw.cli(["webhooks", "test", "--config", `${gw.dir}/gateway.toml`]);
    expect([out.code, out.stdout]).toEqual([0, "ops: delivered (HTTP 200)\n"]);
    const sent = receiver.of("webhook.test").at(-1)!;
    expect(sent.verified).toBe(true);
    receiver.set("down");
    const down = await gw.cli(["webhooks", "test", "--config", `${gw.dir}/gateway.toml`]);
    receiver.set("ok");
    expect([down.code, down.stdout]).toEqual([1, "ops: refused (HTTP 503)\n"]);
    const unknown = await gw.cli(["webhooks", "test", "--config", `${gw.dir}/gateway.toml`, "--endpoint", "nope"]);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, "error: no webhook named 'nope' (configured: ops)"]);
  });
});

describe("webhook delivery across a crash", () => {
  test("killed (-9) while a receiver holds a delivery: after a restart the event is sent again and arrives", async () => {
    const hook = startReceiver(SECRET);
    const upstream2 = startFakeUpstream();
    const env = { GATEWAY_ADMIN_TOKEN: ADMIN, HOOK_SECRET: SECRET, ...FAST };
    let g = await startGateway({ mode: "binary", upstreamUrl: upstream2.url, env, configToml: config(hook.url) });
    try {
      hook.set("hang");
      await g.cli(["create-key", "crashing", "--generate", "60"]);
      await until("the delivery in flight", () => hook.attempts() >= 1);
      await g.stop("SIGKILL");
      hook.set("ok");
      g = await startGateway({ mode: "binary", upstreamUrl: upstream2.url, env, configToml: config(hook.url), dir: g.dir });
      const got = await until("the event after the restart", () => hook.of("key.created")[0], 30_000);
      expect(got).toMatchObject({ verified: true, data: { key: { name: "crashing" } } });
      await Bun.sleep(500);
      expect(hook.of("key.created").length).toBe(1);
    } finally {
      await g.stop();
      await hook.stop();
      await upstream2.stop();
    }
  });
});

describe("webhooks on PostgreSQL with two instances", () => {
  test("each event is delivered once, in order per key, whichever instance claims it, after the receiver was down for both", async () => {
    const { startPostgres } = await import("../helpers/postgres.ts");
    const pg = await startPostgres();
    const url = await pg.createDatabase();
    const hook = startReceiver(SECRET);
    const env = { GATEWAY_DATABASE_URL: url, GATEWAY_ADMIN_TOKEN: ADMIN, HOOK_SECRET: SECRET, ...FAST };
    const a = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, configToml: config(hook.url) });
    const b = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env, configToml: config(hook.url) });
    try {
      hook.set("down");
      const names = Array.from({ length: 8 }, (_, i) => `pg-hook-${i}`);
      // Changes made through both instances' admin APIs, while nothing can be delivered.
      for (const [i, name] of names.entries()) {
        const via = i % 2 ? a : b;
        const call = (method: string, path: string, body?: unknown) => fetch(`${via.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
        expect((await call("POST", "/admin/keys", { name })).status).toBe(201);
        expect((await call("PATCH", `/admin/keys/${name}`, { is_active: false })).status).toBe(200);
        expect((await call("PATCH", `/admin/keys/${name}`, { is_active: true })).status).toBe(200);
      }
      await until("retries from both", () => hook.attempts() >= 6);
      hook.set("ok");
      await until("every event", () => hook.events.length >= names.length * 3, 30_000);
      await Bun.sleep(1000);
      expect(hook.events.length).toBe(names.length * 3);
      expect(new Set(hook.events.map((e) => e.id)).size).toBe(names.length * 3);
      for (const name of names) expect(hook.events.filter((e) => e.data.key.name === name).map((e) => e.type)).toEqual(["key.created", "key.disabled", "key.enabled"]);
      expect(hook.events.every((e) => e.verified)).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
      await hook.stop();
      await pg.stop();
    }
  });
});
