// Spend control through the compiled binary and the official openai SDK: budgets never overshot, token
// and in-flight limits exact under concurrency, expiry, rotation, deletion, allow-lists.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { startFakeUpstream, type Handler } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(90_000);

// $1 per million input tokens, $2 per million output tokens; the fake answers 20 prompt + 100 completion
// tokens: 20,000 + 200,000 = 220,000 nano-dollars per request.
const CONFIG = (url: string) => `
[[providers]]
name = "fake"
base_url = "${url}"
api_key_env = "FAKE_KEY"
models = ["gpt-*", "unpriced-*"]

[models."gpt-test"]
input_cost_per_token = 0.000001
output_cost_per_token = 0.000002
`;
const COST = 220_000;
const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

let inFlight = 0;
let maxInFlight = 0;
/** Fixed usage; optionally slow, to hold requests in flight. */
function fixedUsage(delayMs = 0): Handler {
  return async (body) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (delayMs) await Bun.sleep(delayMs);
      const usage = { prompt_tokens: 20, completion_tokens: 100, total_tokens: 120 };
      if (body.stream) {
        const base = { id: "c", object: "chat.completion.chunk", created: 1, model: body.model };
        const events = [
          ...Array.from({ length: 5 }, (_, i) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `w${i} ` } }] })}\n\n`),
          `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`,
          "data: [DONE]\n\n",
        ];
        return new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
      }
      return Response.json({ id: "c", object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage });
    } finally {
      inFlight--;
    }
  };
}

const gateways: TestGateway[] = [];
afterAll(async () => {
  for (const g of gateways) await g.stop();
});
async function gateway(opts: { clock?: () => number; mode?: "source" | "binary" } = {}): Promise<TestGateway> {
  const gw = await startGateway({ mode: opts.mode ?? (opts.clock ? "source" : "binary"), upstreamUrl: upstream.url, configToml: CONFIG(upstream.url), env: { FAKE_KEY: PROVIDER_KEY }, clock: opts.clock });
  gateways.push(gw);
  return gw;
}

const BODY = { model: "gpt-test", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 100 };
/** What the gateway reserves for BODY: its bytes as prompt tokens plus max_tokens of output. */
const ESTIMATE = Buffer.byteLength(JSON.stringify(BODY)) * 1000 + 100 * 2000;

const raw = (gw: TestGateway, key: string, body: Record<string, unknown> = BODY) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
const keyView = async (gw: TestGateway, key: string) => (await (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).json()) as Record<string, unknown>;
const spentNano = (gw: TestGateway, keyId: string) => gw.rows().filter((r) => r.key_id === keyId).reduce((a, r) => a + Number(r.cost_nano_usd), 0);
const usd = (nano: number) => (nano / 1e9).toFixed(9);

describe("budgets", () => {
  test("sequential requests until refused: spend stays within the budget, the refusal is insufficient_quota and the SDK does not retry it", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const budget = 1_000_000; // four requests cost 880,000; a fifth would pass the budget by its estimate
    const { id, key } = await gw.createKey("budgeted", 1000, ["--budget", usd(budget)]);
    let calls = 0;
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, fetch: (url, init) => (calls++, fetch(url, init)) });
    let ok = 0;
    let refused: unknown;
    for (let i = 0; i < 20 && !refused; i++) {
      try {
        const reply = await client.chat.completions.create(BODY);
        expect(reply.choices[0]!.message.content).toBe("ok");
        ok++;
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("insufficient_quota");
    expect(calls).toBe(ok + 1); // no retry of the refusal
    expect(spentNano(gw, id)).toBe(ok * COST);
    expect(spentNano(gw, id) + ESTIMATE).toBeGreaterThan(budget);
    expect(spentNano(gw, id)).toBeLessThanOrEqual(budget);
    const view = await keyView(gw, key);
    expect(view).toMatchObject({ budget_usd: "0.001", spent_usd: usd(ok * COST).replace(/0+$/, ""), reserved_usd: "0.00", in_flight: 0, budget_period: "month" });
    const res = await raw(gw, key);
    expect(res.headers.get("x-budget-limit-usd")).toBe("0.001");
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(res.headers.get("x-budget-reset")).toMatch(/^\d{4}-\d{2}-01T00:00:00.000Z$/);
  });

  test("the next period admits again; a total budget never resets (clock moved)", async () => {
    upstream.setHandler(fixedUsage());
    let now = Date.UTC(2026, 10, 25, 23, 0); // a Wednesday
    const gw = await gateway({ clock: () => now });
    const day = await gw.createKey("daily", 1000, ["--budget", usd(ESTIMATE), "--budget-period", "day", "--max-parallel", "50"]);
    const total = await gw.createKey("lifetime", 1000, ["--budget", usd(ESTIMATE), "--budget-period", "total"]);
    const week = await gw.createKey("weekly", 1000, ["--budget", usd(ESTIMATE), "--budget-period", "week"]);
    // Each budget covers one request's actual cost but not two estimates: one request, then refused.
    for (const k of [day, total, week]) {
      expect((await raw(gw, k.key)).status).toBe(200);
      const refused = await raw(gw, k.key);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("insufficient_quota");
    }
    now = Date.UTC(2026, 10, 26, 0, 0, 1); // Thursday: a new day, the same week
    expect((await raw(gw, day.key)).status).toBe(200);
    expect((await raw(gw, total.key)).status).toBe(429);
    expect((await raw(gw, week.key)).status).toBe(429);
    now = Date.UTC(2026, 10, 30, 0, 0, 1); // Monday: a new week
    expect((await raw(gw, week.key)).status).toBe(200);
    now = Date.UTC(2027, 5, 1);
    expect((await raw(gw, total.key)).status).toBe(429);
    expect(await keyView(gw, total.key)).toMatchObject({ budget_resets_at: null, spent_usd: usd(COST).replace(/0+$/, "") });
  });

  test("50 simultaneous requests when what is left covers 10 by estimate: at most 10 reach the upstream", async () => {
    upstream.setHandler(fixedUsage(300));
    const gw = await gateway();
    const { id, key } = await gw.createKey("crowd", 1000, ["--budget", usd(Math.floor(ESTIMATE * 10.5))]);
    const before = upstream.received.length;
    const results = await Promise.all(Array.from({ length: 50 }, () => raw(gw, key)));
    const statuses = results.map((r) => r.status);
    expect(upstream.received.length - before).toBe(10);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    const refusals = await Promise.all(results.filter((r) => r.status === 429).map(async (r) => [r.headers.get("retry-after"), ((await r.json()) as { error: Record<string, unknown> }).error]));
    expect(refusals).toHaveLength(40);
    for (const [retryAfter, error] of refusals) expect([retryAfter, error]).toEqual(["1", { code: "rate_limit_exceeded", type: "requests", message: expect.any(String), param: null }]);
    expect(spentNano(gw, id)).toBe(10 * COST);
    expect(await keyView(gw, key)).toMatchObject({ reserved_usd: "0.00", in_flight: 0 });
  });

  test("streams are charged, and a client that disconnects mid-stream is charged for what it got; nothing stays reserved", async () => {
    const gw = await gateway();
    const { id, key } = await gw.createKey("streamer", 1000, ["--budget", "1"]);
    upstream.setHandler(fixedUsage());
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1` });
    let text = "";
    for await (const chunk of await client.chat.completions.create({ ...BODY, stream: true })) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("w0 w1 w2 w3 w4 ");
    expect(spentNano(gw, id)).toBe(COST);
    // A slow stream the client abandons after the first event.
    upstream.setHandler((body) => {
      const enc = new TextEncoder();
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(c) {
            if (i++ > 0) await Bun.sleep(200);
            c.enqueue(enc.encode(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: body.model, choices: [{ index: 0, delta: { content: "partial answer " } }] })}\n\n`));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    });
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ ...BODY, stream: true }), signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    const deadline = Date.now() + 10_000;
    while (gw.rows().filter((r) => r.key_id === id).length < 2 && Date.now() < deadline) await Bun.sleep(20);
    const rows = gw.rows().filter((r) => r.key_id === id);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ estimated: 1, streamed: 1 });
    expect(Number(rows[1]!.cost_nano_usd)).toBeGreaterThan(0);
    const view = await keyView(gw, key);
    expect(view).toMatchObject({ reserved_usd: "0.00", in_flight: 0, spent_usd: usd(COST + Number(rows[1]!.cost_nano_usd)).replace(/0+$/, "").replace(/\.(\d)$/, ".$10") });
    upstream.reset();
  });

  test("an unpriced model is refused for a budgeted key; a direct UPDATE of budget_nano_usd is seen on the next request", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { id, key } = await gw.createKey("priced-only", 1000, ["--budget", "5"]);
    const unpriced = await raw(gw, key, { ...BODY, model: "unpriced-model" });
    expect(unpriced.status).toBe(403);
    expect(((await unpriced.json()) as { error: unknown }).error).toMatchObject({ code: "model_not_priced", param: "model" });
    expect((await raw(gw, key)).status).toBe(200);
    const db = new Database(gw.dbPath);
    db.run("UPDATE api_keys SET budget_nano_usd = 1000 WHERE id = ?", [id]);
    expect((await raw(gw, key)).status).toBe(429);
    db.run("UPDATE api_keys SET budget_nano_usd = NULL WHERE id = ?", [id]);
    expect((await raw(gw, key, { ...BODY, model: "unpriced-model" })).status).toBe(200);
    db.close();
  });
});

describe("tokens per minute and requests in flight", () => {
  test("20 slow requests with max_parallel 5: never more than 5 at the upstream at once", async () => {
    upstream.setHandler(fixedUsage(150));
    const gw = await gateway();
    const { key } = await gw.createKey("parallel", 1000, ["--max-parallel", "5"]);
    maxInFlight = 0;
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 10 });
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.chat.completions.create(BODY)));
    expect(replies).toHaveLength(20);
    expect(maxInFlight).toBe(5);
    const res = await Promise.all(Array.from({ length: 8 }, () => raw(gw, key)));
    const refused = res.filter((r) => r.status === 429);
    expect(refused).toHaveLength(3);
    expect(refused[0]!.headers.get("retry-after")).toBe("1");
  });

  test("TPM: concurrent requests never reserve past the limit; one request larger than the limit can never fit", async () => {
    await awayFromMinuteEdge();
    // The admitted requests run long enough that the refused ones' tokenizer recount (on the tokenizer's
    // thread, which loads on first use) is decided while they still hold their reservations.
    upstream.setHandler(fixedUsage(3000));
    const gw = await gateway();
    const tpm = 2000;
    const { key } = await gw.createKey("tokens", 1000, ["--tpm", String(tpm)]);
    const before = upstream.received.length;
    const body = { ...BODY, max_tokens: 400 };
    const results = await Promise.all(Array.from({ length: 10 }, () => raw(gw, key, body)));
    const admitted = upstream.received.length - before;
    // Each reserves its byte bound (~90) + 400 tokens: four fit in 2,000.
    expect(admitted).toBe(Math.floor(tpm / (Buffer.byteLength(JSON.stringify(body)) + 400)));
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.headers.get("x-ratelimit-limit-tokens")).toBe(String(tpm));
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("tokens");
    const huge = await raw(gw, key, { ...BODY, max_tokens: 5000 });
    expect(huge.status).toBe(429);
    expect(huge.headers.get("x-should-retry")).toBe("false");
    expect(((await huge.json()) as { error: { message: string } }).error.message).toContain("can never fit");
  });
});

describe("key lifecycle", () => {
  test("expiry: an expired key gets 401 api_key_expired; extending it works on the next request", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { key } = await gw.createKey("expiring", 1000, ["--expires", "2020-01-01T00:00:00Z"]);
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const err = await client.chat.completions.create(BODY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("api_key_expired");
    expect((await gw.cli(["update-key", "expiring", "--expires", "30d"])).code).toBe(0);
    expect((await raw(gw, key)).status).toBe(200);
    expect(String((await keyView(gw, key)).expires_at)).toMatch(/^\d{4}-/);
  });

  test("rotation without grace refuses the old value at once; with grace both work until it ends; usage carries over", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { id, key: first } = await gw.createKey("rotating");
    expect((await raw(gw, first)).status).toBe(200);
    const r1 = await gw.cli(["rotate-key", "rotating"]);
    const second = /New plain key \(save this securely\): (\S+)/.exec(r1.stdout)![1]!;
    expect(r1.stdout).toContain("The old key no longer works.");
    expect((await raw(gw, first)).status).toBe(401);
    expect((await raw(gw, second)).status).toBe(200);
    const r2 = await gw.cli(["rotate-key", "rotating", "--grace", "24h"]);
    const third = /New plain key \(save this securely\): (\S+)/.exec(r2.stdout)![1]!;
    expect((await raw(gw, second)).status).toBe(200);
    expect((await raw(gw, third)).status).toBe(200);
    // The grace period ends (as 24 hours later).
    const db = new Database(gw.dbPath);
    db.run("UPDATE api_keys SET previous_valid_until = ? WHERE id = ?", [Date.now() - 1, id]);
    db.close();
    expect((await raw(gw, second)).status).toBe(401);
    expect((await raw(gw, third)).status).toBe(200);
    expect(gw.rows().filter((r) => r.key_id === id)).toHaveLength(5);
  });

  test("deletion: the key stops at once, leaves list-keys (--all shows it), its usage stays in reports", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { id, key } = await gw.createKey("doomed");
    expect((await raw(gw, key)).status).toBe(200);
    expect((await gw.cli(["delete-key", "doomed"])).stdout).toContain("deleted");
    expect((await raw(gw, key)).status).toBe(401);
    const list = JSON.parse((await gw.cli(["list-keys", "--json"])).stdout) as { id: string }[];
    expect(list.map((k) => k.id)).not.toContain(id);
    const all = JSON.parse((await gw.cli(["list-keys", "--json", "--all"])).stdout) as { id: string; deleted_at?: string }[];
    expect(all.find((k) => k.id === id)?.deleted_at).toMatch(/^\d{4}-/);
    const report = JSON.parse((await gw.cli(["usage", "--json"])).stdout) as { rows: { key_id: string; requests: number }[] };
    expect(report.rows.find((r) => r.key_id === id)?.requests).toBe(1);
  });

  test("allow-list: a prefix, a second slash, spaces or another case never get around it; a direct UPDATE is seen at once", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { id, key } = await gw.createKey("allowed", 1000, ["--models", "gpt-test"]);
    expect((await raw(gw, key)).status).toBe(200);
    expect((await raw(gw, key, { ...BODY, model: "fake/gpt-test" })).status).toBe(200);
    const before = upstream.received.length;
    for (const model of ["gpt-4o", "fake/gpt-4o", "fake/fake/gpt-test", " gpt-test", "gpt-test ", "GPT-TEST", "gpt-test/x", "gpt-tes?"]) {
      const res = await raw(gw, key, { ...BODY, model });
      const status = res.status;
      const code = status === 403 ? ((await res.json()) as { error: { code: string } }).error.code : status === 404 ? "model_not_found" : String(status);
      expect({ model, code }).toEqual({ model, code: status === 404 ? "model_not_found" : "model_not_allowed" });
    }
    expect(upstream.received.length).toBe(before);
    const db = new Database(gw.dbPath);
    db.run("UPDATE api_keys SET allowed_models = 'gpt-4o*' WHERE id = ?", [id]);
    expect((await raw(gw, key)).status).toBe(403);
    expect((await raw(gw, key, { ...BODY, model: "gpt-4o-mini" })).status).toBe(200);
    db.close();
  });

  test("settings survive a restart, and spend is recomputed from the rows after a SIGKILL", async () => {
    upstream.setHandler(fixedUsage());
    const gw = await gateway();
    const { id, key } = await gw.createKey("durable", 1000, ["--budget", usd(3 * COST + ESTIMATE - 1), "--tpm", "100000", "--models", "gpt-*"]);
    for (let i = 0; i < 3; i++) expect((await raw(gw, key)).status).toBe(200);
    expect(await gw.stop("SIGKILL")).not.toBe(0);
    const again = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: CONFIG(upstream.url), env: { FAKE_KEY: PROVIDER_KEY }, dir: gw.dir });
    gateways.push(again);
    const view = await keyView(again, key);
    expect(view).toMatchObject({ tpm_limit: 100000, allowed_models: ["gpt-*"], spent_usd: usd(3 * COST).replace(/0+$/, "") });
    // Three requests spent, and the budget leaves less than a fourth's estimate.
    const refused = await raw(again, key);
    expect(refused.status).toBe(429);
    expect(spentNano(again, id)).toBe(3 * COST);
  });
});

describe("admin API", () => {
  test("the same settings on POST and PATCH (null clears), rotation and deletion", async () => {
    upstream.setHandler(fixedUsage());
    const admin = "admin-token-spend-0123456789-xyzw";
    const gw = await startGateway({ upstreamUrl: upstream.url, configToml: CONFIG(upstream.url), env: { FAKE_KEY: PROVIDER_KEY, GATEWAY_ADMIN_TOKEN: admin } });
    gateways.push(gw);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const created = await call("POST", "/admin/keys", { name: "api-made", budget_usd: "12.5", budget_period: "week", tpm_limit: 5000, max_parallel: 2, expires_at: "2030-01-01T00:00:00Z", allowed_models: ["gpt-*"] });
    expect(created.status).toBe(201);
    const k = (await created.json()) as Record<string, unknown>;
    expect(k).toMatchObject({ budget_usd: "12.50", budget_period: "week", tpm_limit: 5000, max_parallel: 2, expires_at: "2030-01-01T00:00:00.000Z", allowed_models: ["gpt-*"], spent_usd: "0.00" });
    expect((await raw(gw, String(k.key))).status).toBe(200);
    const patched = (await (await call("PATCH", `/admin/keys/${k.id}`, { budget_usd: null, tpm_limit: null, allowed_models: null, expires_at: null })).json()) as Record<string, unknown>;
    expect(patched).toMatchObject({ budget_usd: null, tpm_limit: null, allowed_models: null, expires_at: null, max_parallel: 2 });
    const bad = await call("PATCH", `/admin/keys/${k.id}`, { budget_period: "fortnight" });
    expect(bad.status).toBe(400);
    const rotated = (await (await call("POST", `/admin/keys/${k.id}/rotate`, { grace: "1h" })).json()) as Record<string, unknown>;
    expect(String(rotated.key)).toStartWith("gw-");
    expect(rotated.previous_valid_until).toMatch(/^\d{4}-/);
    expect((await raw(gw, String(k.key))).status).toBe(200);
    expect((await raw(gw, String(rotated.key))).status).toBe(200);
    expect((await call("DELETE", `/admin/keys/${k.id}`)).status).toBe(200);
    expect((await raw(gw, String(rotated.key))).status).toBe(401);
    expect((await raw(gw, String(k.key))).status).toBe(401);
    expect(((await (await call("GET", "/admin/keys")).json()) as unknown[]).length).toBe(0);
    expect(((await (await call("GET", "/admin/keys?all=true")).json()) as unknown[]).length).toBe(1);
  });
});
