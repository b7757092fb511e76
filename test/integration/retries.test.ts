// Retries before anything reached the customer: 5xx and 429 (honouring Retry-After up to the cap), one
// answer for the customer, one row naming the attempts; never after the first byte of a stream.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { completion, sseResponse, startFakeUpstream, streamEvents } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;
let key: string;
beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_MAX_RETRIES: "2", GATEWAY_RETRY_MAX_WAIT_MS: "1500" } });
  key = (await gw.createKey("retried")).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

/** Fails the first `k` requests with `fail`, then answers normally. */
function failFirst(k: number, fail: () => Response) {
  let n = 0;
  upstream.setHandler((body) => (n++ < k ? fail() : body.stream === true ? sseResponse(streamEvents(body)) : Response.json(completion(body))));
}
const client = () => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const lastRow = () => gw.rows().at(-1)!;

describe("retries", () => {
  test("500 then 502 then success: the customer gets one 200; the row says 3 attempts", async () => {
    failFirst(2, () => new Response("<html>oops</html>", { status: 500 }));
    const before = upstream.received.length;
    const reply = await client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect(reply.choices[0]!.message.content).toContain("Hello from the fake upstream");
    expect(upstream.received.length - before).toBe(3);
    expect(lastRow()).toMatchObject({ upstream_status: 200, attempts: 3, estimated: 0 });
  });

  test("429 with Retry-After: waited for (up to the cap), then answered", async () => {
    failFirst(1, () => Response.json({ error: { message: "slow down", type: "requests", param: null, code: "rate_limit_exceeded" } }, { status: 429, headers: { "retry-after": "1" } }));
    const t0 = performance.now();
    const reply = await client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect(reply.id).toBe("chatcmpl-fake123");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(lastRow()).toMatchObject({ attempts: 2 });
  });

  test("retries used up: the last answer is passed on, with one row", async () => {
    failFirst(10, () => Response.json({ error: { message: "overloaded", type: "server_error", param: null, code: null } }, { status: 503 }));
    const before = upstream.received.length;
    const rowsBefore = gw.rows().length;
    const err = await client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect(upstream.received.length - before).toBe(3);
    expect(gw.rows().length - rowsBefore).toBe(1);
    expect(lastRow()).toMatchObject({ upstream_status: 503, attempts: 3 });
  });

  test("streams: retried before the first byte; a stream that breaks after it is not retried", async () => {
    failFirst(1, () => new Response("busy", { status: 502 }));
    let text = "";
    for await (const chunk of await client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true })) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Hello from the fake stream ✓");
    expect(lastRow()).toMatchObject({ streamed: 1, attempts: 2 });
    upstream.setHandler((body) => sseResponse(streamEvents(body, { done: false, usage: null }).slice(0, 2)));
    const before = upstream.received.length;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true }) });
    expect(await res.text()).toContain('"code":"upstream_error"');
    expect(upstream.received.length - before).toBe(1);
    upstream.reset();
  });
});

describe("[[routes]]: weights, fallbacks, cooldown", () => {
  const a = startFakeUpstream();
  const b = startFakeUpstream();
  const slow = startFakeUpstream();
  const dead = Bun.serve({ port: 0, fetch: () => new Response() });
  const deadUrl = `http://127.0.0.1:${dead.port}/v1`;
  void dead.stop(true);
  let routed: TestGateway;
  let routedKey: string;
  beforeAll(async () => {
    const provider = (name: string, url: string, extra = "") => `[[providers]]\nname = "${name}"\nbase_url = "${url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*"]\n${extra}\n`;
    routed = await startGateway({
      mode: "binary",
      upstreamUrl: a.url,
      env: { FAKE_KEY: "sk-fake-provider-key", GATEWAY_UPSTREAM_TIMEOUT_MS: "1000", GATEWAY_RETRY_MAX_WAIT_MS: "100" },
      configToml: [
        "cooldown_failures = 2\ncooldown_ms = 60000\n",
        provider("a", a.url),
        provider("b", b.url),
        provider("down", deadUrl, "max_retries = 1"),
        provider("slow", slow.url, "max_retries = 2"),
        `[[routes]]\nmodels = ["gpt-weighted"]\nproviders = [{ name = "a", weight = 3 }, { name = "b", weight = 1 }]\n`,
        `[[routes]]\nmodels = ["gpt-failover"]\nproviders = ["down"]\nfallbacks = ["b"]\n`,
        `[[routes]]\nmodels = ["gpt-slow"]\nproviders = ["slow"]\n`,
      ].join("\n"),
    });
    routedKey = (await routed.createKey("routed", 100_000)).key;
  });
  afterAll(async () => {
    await routed.stop();
    await Promise.all([a.stop(), b.stop(), slow.stop()]);
  });
  const ask = (model: string) =>
    fetch(`${routed.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${routedKey}` }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }) });

  test("weights 3:1 split 2,000 requests within ±10%, every one answered and recorded with its provider", async () => {
    const before = routed.rows().length;
    for (let i = 0; i < 40; i++) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => ask("gpt-weighted")));
      expect(batch.every((r) => r.status === 200)).toBe(true);
      await Promise.all(batch.map((r) => r.arrayBuffer()));
    }
    const rows = routed.rows().slice(before);
    expect(rows.length).toBe(2000);
    const toA = rows.filter((r) => r.provider === "a").length;
    expect(toA + rows.filter((r) => r.provider === "b").length).toBe(2000);
    expect(toA).toBeGreaterThanOrEqual(1350);
    expect(toA).toBeLessThanOrEqual(1650);
  });

  test("a provider that cannot be reached: its retries, then the fallback answers; after two such requests it is skipped for the cooldown", async () => {
    const res = await ask("gpt-failover");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe("chatcmpl-fake123");
    expect(routed.rows().at(-1)).toMatchObject({ provider: "b", attempts: 3, upstream_status: 200 });
    expect((await ask("gpt-failover")).status).toBe(200);
    expect(routed.rows().at(-1)).toMatchObject({ provider: "b", attempts: 3 });
    expect((await ask("gpt-failover")).status).toBe(200);
    expect(routed.rows().at(-1)).toMatchObject({ provider: "b", attempts: 1 }); // "down" cools down: tried last
  });

  test("a provider that does not answer within the deadline: the attempt is abandoned and retried", async () => {
    let n = 0;
    slow.setHandler(async (body) => {
      if (n++ === 0) await Bun.sleep(2500);
      return Response.json(completion(body));
    });
    const res = await ask("gpt-slow");
    expect(res.status).toBe(200);
    expect(routed.rows().at(-1)).toMatchObject({ provider: "slow", attempts: 2, upstream_status: 200 });
    slow.reset();
  });
});
