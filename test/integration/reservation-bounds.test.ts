// A reservation is a true upper bound of what the upstream can bill, and the gateway enforces it: the
// attacks of a hostile customer (and of a lying upstream) against a budgeted key, through the compiled
// binary. Prices: $1 per million input tokens (1,000 nano-dollars a token), $2 per million output.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { completion, responseObject, startFakeUpstream, type Handler } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const METRICS_TOKEN = "metrics-token-bounds-0123456789";
const upstream = startFakeUpstream();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY, GATEWAY_METRICS_TOKEN: METRICS_TOKEN },
    configToml: `
[[providers]]
name = "fake"
base_url = "${upstream.url}"
api_key_env = "FAKE_KEY"
models = ["gpt-*", "o4-*"]

[models."gpt-test"]
input_cost_per_token = 0.000001
output_cost_per_token = 0.000002

[models."o4-test"]
input_cost_per_token = 0.000001
output_cost_per_token = 0.000002
max_output_tokens = 1000
`,
  });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

const post = (path: string, key: string, body: unknown) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
const rowsOf = (id: string) => gw.rows().filter((r) => r.key_id === id);
const spent = (id: string) => rowsOf(id).reduce((a, r) => a + Number(r.cost_nano_usd), 0);
const budgeted = (name: string, usd: string) => gw.createKey(name, 100_000, ["--budget", usd]);
/** An upstream that bills whatever `usage` says, whatever was asked. */
const billing = (usage: { prompt_tokens: number; completion_tokens: number }): Handler => (body) =>
  Response.json(completion(body, { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens }));

describe("what the request can generate", () => {
  test("n: 20 reserves twenty answers: refused on a budget that one answer fits (it spent 4x the budget before)", async () => {
    upstream.setHandler(billing({ prompt_tokens: 20, completion_tokens: 2000 }));
    const { id, key } = await budgeted("n-attack", "0.001");
    const one = { model: "gpt-test", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
    const res = await post("/v1/chat/completions", key, { ...one, n: 20 });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("insufficient_quota");
    expect(spent(id)).toBe(0);
    upstream.setHandler(billing({ prompt_tokens: 20, completion_tokens: 100 }));
    expect((await post("/v1/chat/completions", key, one)).status).toBe(200);
    expect(spent(id)).toBe(20 * 1000 + 100 * 2000);
    upstream.reset();
  });

  test("no max_tokens: the gateway sends the cap it reserved (the model's maximum, else the default), in the field the API takes", async () => {
    const { key } = await budgeted("cap-sender", "5");
    await post("/v1/chat/completions", key, { model: "gpt-test", messages: [{ role: "user", content: "hi" }] });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(4096);
    await post("/v1/chat/completions", key, { model: "o4-test", messages: [{ role: "user", content: "hi" }] });
    expect(upstream.received.at(-1)!.body).toMatchObject({ max_completion_tokens: 1000 });
    expect(upstream.received.at(-1)!.body.max_tokens).toBeUndefined();
    await post("/v1/responses", key, { model: "gpt-test", input: "hi" });
    expect(upstream.received.at(-1)!.body.max_output_tokens).toBe(4096);
    // A cap the customer set is theirs; a key without limits is forwarded as sent.
    await post("/v1/chat/completions", key, { model: "gpt-test", max_tokens: 7, messages: [{ role: "user", content: "hi" }] });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(7);
    const free = await gw.createKey("no-limits");
    await post("/v1/chat/completions", free.key, { model: "gpt-test", messages: [{ role: "user", content: "hi" }] });
    expect(upstream.received.at(-1)!.body.max_tokens).toBeUndefined();
  });
});

describe("a lying upstream", () => {
  test("10^9 prompt tokens for a 5-token request: charged at the request's bound, recorded as reported, flagged, logged and counted", async () => {
    const { id, key } = await budgeted("liar", "0.01");
    const overBound = async () => Number(/gateway_usage_over_bound_total\{provider="fake"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text())?.[1] ?? 0);
    const flaggedBefore = await overBound();
    upstream.setHandler(billing({ prompt_tokens: 1_000_000_000, completion_tokens: 5 }));
    const body = { model: "gpt-test", max_tokens: 5, messages: [{ role: "user", content: "hi" }] };
    expect((await post("/v1/chat/completions", key, body)).status).toBe(200);
    upstream.reset();
    const [row] = rowsOf(id);
    const bound = Buffer.byteLength(JSON.stringify(body)) * 1000 + 5 * 2000;
    expect(row).toMatchObject({ prompt_tokens: 1_000_000_000, completion_tokens: 5, cost_nano_usd: bound, over_bound: 1 });
    expect(spent(id)).toBeLessThanOrEqual(10_000_000);
    expect(gw.logs()).toContain("usage_over_bound");
    expect(await overBound()).toBe(flaggedBefore + 1);
  });

  test("an answer far past the cap the gateway sent (32,768 tokens for 4,096): spend never passes the budget", async () => {
    const { id, key } = await budgeted("long-answer", "0.05");
    upstream.setHandler(billing({ prompt_tokens: 20, completion_tokens: 32_768 }));
    for (let i = 0; i < 8; i++) await post("/v1/chat/completions", key, { model: "gpt-test", messages: [{ role: "user", content: "write a lot" }] });
    upstream.reset();
    expect(rowsOf(id).length).toBeGreaterThan(0);
    expect(rowsOf(id).every((r) => r.over_bound === 1)).toBe(true);
    expect(spent(id)).toBeLessThanOrEqual(50_000_000);
  });
});

describe("stored state of the Responses API", () => {
  test("another key's previous_response_id or a conversation: 404 in OpenAI's shape, never forwarded; the key's own continues", async () => {
    const a = await budgeted("conv-a", "5");
    const b = await budgeted("conv-b", "5");
    const created = (await (await post("/v1/responses", a.key, { model: "gpt-test", input: "remember 42" })).json()) as { id: string };
    const before = upstream.received.length;
    for (const extra of [{ previous_response_id: created.id }, { conversation: "conv_123" }, { previous_response_id: "resp_unknown" }]) {
      const res = await post("/v1/responses", b.key, { model: "gpt-test", input: "what number?", ...extra });
      expect(res.status).toBe(404);
      const err = ((await res.json()) as { error: { code: string; param: string; type: string } }).error;
      expect(err).toMatchObject({ code: "not_found", type: "invalid_request_error" });
      expect(err.param).toBe(Object.keys(extra)[0]!);
    }
    expect(upstream.received.length).toBe(before);
    expect(rowsOf(b.id).length).toBe(0);
    expect((await post("/v1/responses", a.key, { model: "gpt-test", input: "what number?", previous_response_id: created.id })).status).toBe(200);
    expect(upstream.received.at(-1)!.body.previous_response_id).toBe(created.id);
  });

  test("the conversation the provider adds (20,000 tokens unseen by the gateway) is bounded by the stored rows: spend stays within the budget", async () => {
    const { id, key } = await budgeted("conv-overshoot", "0.01");
    const first = (await (await post("/v1/responses", key, { model: "gpt-test", max_output_tokens: 10, input: "hi" })).json()) as { id: string };
    upstream.setHandler((body) => Response.json({ ...responseObject(body, "resp_big"), usage: { input_tokens: 20_000, output_tokens: 10, total_tokens: 20_010 } }));
    for (let i = 0; i < 3; i++) await post("/v1/responses", key, { model: "gpt-test", max_output_tokens: 10, input: "go on", previous_response_id: first.id });
    upstream.reset();
    expect(rowsOf(id).filter((r) => r.over_bound === 1).length).toBe(3);
    expect(spent(id)).toBeLessThanOrEqual(10_000_000);
  });
});

describe("items of stored answers", () => {
  test("an item_reference is forwarded only for the key whose answer (JSON or streamed) created the item; another key's gets 404", async () => {
    let n = 0;
    upstream.setHandler((body) => {
      const id = `resp_items${++n}`;
      const done = { ...responseObject(body, id), output: [{ type: "message", id: `msg_unique${n}`, status: "completed", role: "assistant", content: [{ type: "output_text", text: "hi", annotations: [] }] }] };
      if (body.stream !== true) return Response.json(done);
      const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      return new Response(ev("response.created", { response: { ...done, status: "in_progress", output: [] } }) + ev("response.completed", { response: done }), { headers: { "content-type": "text/event-stream" } });
    });
    const a = await budgeted("items-a", "5");
    const b = await budgeted("items-b", "5");
    await (await post("/v1/responses", a.key, { model: "gpt-test", input: "one" })).json();
    await (await post("/v1/responses", a.key, { model: "gpt-test", input: "two", stream: true })).text();
    const refs = (ids: string[]) => [...ids.map((id) => ({ type: "item_reference", id })), { role: "user", content: "and now?" }];
    const before = upstream.received.length;
    for (const ids of [["msg_unique1"], ["msg_unique2"], ["msg_unique1", "msg_unknown"]]) {
      const res = await post("/v1/responses", b.key, { model: "gpt-test", input: refs(ids) });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: "not_found", param: "input" });
    }
    expect(upstream.received.length).toBe(before);
    const own = await post("/v1/responses", a.key, { model: "gpt-test", input: refs(["msg_unique1", "msg_unique2"]) });
    expect(own.status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
    upstream.reset();
  });
});

describe("tools the provider bills per call", () => {
  test("refused with 403 for a key with a budget, in the shape of the API called; function tools and keys without a budget pass", async () => {
    const { key } = await budgeted("tools", "5");
    const free = (await gw.createKey("tools-free")).key;
    const search = { model: "gpt-test", input: "news?", tools: [{ type: "web_search" }] };
    let res = await post("/v1/responses", key, { ...search, tools: [{ type: "code_interpreter", container: { type: "auto" } }, { type: "web_search" }] });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "tool_not_bounded", message: expect.stringContaining("bills code_interpreter per call") });
    // Web search is bounded (web-search.test.ts), but only for a model whose price list prices a search.
    res = await post("/v1/responses", key, search);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("tool_not_priced");
    res = await post("/v1/chat/completions", key, { model: "gpt-test", web_search_options: {}, messages: [{ role: "user", content: "news?" }] });
    expect(res.status).toBe(403);
    res = await post("/v1/messages", key, { model: "gpt-test", max_tokens: 10, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [{ role: "user", content: "news?" }] });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { type: string; error: { type: string } })).toMatchObject({ type: "error", error: { type: "permission_error" } });
    expect((await post("/v1/responses", key, { ...search, tools: [{ type: "function", name: "f", parameters: {} }] })).status).toBe(200);
    expect((await post("/v1/responses", free, search)).status).toBe(200);
  });
});

describe("metrics", () => {
  test("1,000 invented model names add at most 50 series", async () => {
    const { key } = await gw.createKey("inventor");
    const scrape = async () => (await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).split("\n").filter((l) => l.startsWith("gateway_")).length;
    const before = await scrape();
    upstream.setHandler(() => Response.json({ error: { message: "The model does not exist", type: "invalid_request_error", code: "model_not_found" } }, { status: 404 }));
    const names = Array.from({ length: 1000 }, (_, i) => `gpt-invented-${i}-${Math.random().toString(36).slice(2)}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((model) => post("/v1/chat/completions", key, { model, messages: [{ role: "user", content: "x" }] }).then((r) => r.arrayBuffer())));
    }
    upstream.reset();
    expect((await scrape()) - before).toBeLessThanOrEqual(50);
  });
});
