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
