// The exact-match response cache through the compiled binary: a miss then a hit (the provider asked once,
// the same content under a new id, the hit's row at cost 0 with the tokens and the cost it saved, the
// savings in the report), replay as a stream through the openai and Anthropic SDKs, a streamed miss that
// fills the cache, key order and delivery fields that do not matter, what bypasses it, TTL expiry, keys
// that never share answers, and eviction at the size cap.
import Anthropic from "@anthropic-ai/sdk";
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { ANTHROPIC_TEXT, startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { STREAM_PIECES, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
const claude = startFakeAnthropic();
let gw: TestGateway;
let cached: { id: string; key: string };
let plain: { id: string; key: string };
const ADMIN = "cache-admin-token-0123456789abcdef0123";
// gpt-4o-mini at $0.15 / $0.60 / $0.075 cached: 1200 prompt (200 cached) + 300 completion tokens.
const COST = 345_000;
const TEXT = "Hello from the fake upstream. ✓ ünïcödé";

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { GATEWAY_ADMIN_TOKEN: ADMIN, CLAUDE_KEY: PROVIDER_KEY },
    configToml: [
      `cache_max_mb = 0.004\n`,
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "CLAUDE_KEY"\nmodels = ["claude-*"]\n`,
      `[[providers]]\nname = "oai"\nbase_url = "${upstream.url}"\napi_key_required = false\nmodels = ["*"]\n`,
      `[models."gpt-4o-mini"]\ninput_cost_per_token = 0.00000015\noutput_cost_per_token = 0.0000006\ncache_read_input_token_cost = 0.000000075\n`,
    ].join("\n"),
  });
  cached = await gw.createKey("cached", undefined, ["--cache-ttl", "1h"]);
  plain = await gw.createKey("plain");
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
  await claude.stop();
});

const chat = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
const calls = () => upstream.received.filter((r) => r.path.endsWith("/chat/completions")).length;
const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content }], ...extra });

describe("a miss, then a hit", () => {
  test("the provider is asked once; the hit has the same content under a new id, a row at cost 0 with the tokens and the saving", async () => {
    const before = calls();
    const first = await chat(cached.key, ask("What is 2+2?"));
    const second = await chat(cached.key, ask("What is 2+2?"));
    expect([first.headers.get("x-gateway-cache"), second.headers.get("x-gateway-cache")]).toEqual(["miss", "hit"]);
    expect(calls() - before).toBe(1);
    const [a, b] = [(await first.json()) as Record<string, any>, (await second.json()) as Record<string, any>];
    expect(b.choices).toEqual(a.choices);
    expect(b.usage).toEqual(a.usage);
    expect(b.id).not.toBe(a.id);
    expect(b.id).toStartWith("chatcmpl-");
    expect(second.headers.get("x-gateway-cost-usd")).toBe("0.00");
    const [missRow, hitRow] = gw.rows().slice(-2);
    expect(missRow).toMatchObject({ key_id: cached.id, cache_hit: 0, cost_nano_usd: COST, saved_nano_usd: null });
    expect(hitRow).toMatchObject({ key_id: cached.id, cache_hit: 1, cost_nano_usd: 0, saved_nano_usd: COST, prompt_tokens: 1200, cached_tokens: 200, completion_tokens: 300, provider: "oai", upstream_status: 200, estimated: 0 });
  });

  test("the report and the dashboard's overview show the hits and what they saved (admin API and the CLI)", async () => {
    const res = await fetch(`${gw.url}/admin/usage?group_by=key`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const report = (await res.json()) as { rows: { key_id: string; cache_hits: number; saved_nano_usd: number; saved_usd: number }[] };
    const row = report.rows.find((r) => r.key_id === cached.id)!;
    expect(row.cache_hits).toBeGreaterThanOrEqual(1);
    expect(row.saved_nano_usd).toBe(row.cache_hits * COST);
    const overview = (await (await fetch(`${gw.url}/admin/overview`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { month: { saved_usd: number } };
    expect(overview.month.saved_usd).toBeCloseTo((row.cache_hits * COST) / 1e9, 9);
    const out = await gw.cli(["usage"]);
    expect(out.stdout).toContain(`request(s) were answered from the response cache, saving $`);
  });

  test("key order, stream and user do not make another request; the hit replays as a stream through the openai SDK", async () => {
    const before = calls();
    await chat(cached.key, ask("Order?", { max_tokens: 50 }));
    const reordered = { messages: [{ content: "Order?", role: "user" }], max_tokens: 50, temperature: 0, model: "gpt-4o-mini", user: "someone-else" };
    expect((await chat(cached.key, reordered)).headers.get("x-gateway-cache")).toBe("hit");
    const client = new OpenAI({ apiKey: cached.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions.create({ ...ask("Order?", { max_tokens: 50 }), stream: true, stream_options: { include_usage: true } } as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    expect(response.headers.get("x-gateway-cache")).toBe("hit");
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(TEXT);
    expect(usage).toMatchObject({ prompt_tokens: 1200, completion_tokens: 300 });
    expect(calls() - before).toBe(1);
    expect(gw.rows().at(-1)).toMatchObject({ cache_hit: 1, streamed: 1, cost_nano_usd: 0 });
  });

  test("a streamed miss fills the cache: the same question asked as JSON is a hit with the streamed text", async () => {
    const before = calls();
    const streamed = await chat(cached.key, ask("Stream me", { stream: true }));
    expect(streamed.headers.get("x-gateway-cache")).toBe("miss");
    await streamed.text();
    const json = await until("the streamed answer in the cache", async () => {
      const res = await chat(cached.key, ask("Stream me"));
      return res.headers.get("x-gateway-cache") === "hit" && ((await res.json()) as Record<string, any>);
    });
    expect(json.choices[0].message.content).toBe(STREAM_PIECES.join(""));
    expect(calls() - before).toBe(1);
  });
});

describe("what the cache does not answer", () => {
  test("a temperature above 0 and x-gateway-cache-ttl: 0 bypass it; a bad header is a 400 in OpenAI's shape", async () => {
    const before = calls();
    for (let i = 0; i < 2; i++) expect((await chat(cached.key, ask("Warm", { temperature: 0.7 }))).headers.get("x-gateway-cache")).toBe("bypass");
    for (let i = 0; i < 2; i++) expect((await chat(cached.key, ask("What is 2+2?"), { "x-gateway-cache-ttl": "0" })).headers.get("x-gateway-cache")).toBe("bypass");
    expect(calls() - before).toBe(4);
    const bad = await chat(cached.key, ask("x"), { "x-gateway-cache-ttl": "soon" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_cache_ttl", param: "x-gateway-cache-ttl" } });
  });

  test("keys never share answers: another key misses; a key without a TTL is not cached unless the request asks", async () => {
    const other = await gw.createKey("cached-too", undefined, ["--cache-ttl", "1h"]);
    expect((await chat(other.key, ask("What is 2+2?"))).headers.get("x-gateway-cache")).toBe("miss");
    expect((await chat(plain.key, ask("What is 2+2?"))).headers.get("x-gateway-cache")).toBeNull();
    expect((await chat(plain.key, ask("Ask me", {}), { "x-gateway-cache-ttl": "60" })).headers.get("x-gateway-cache")).toBe("miss");
    expect((await chat(plain.key, ask("Ask me", {}), { "x-gateway-cache-ttl": "60" })).headers.get("x-gateway-cache")).toBe("hit");
  });

  test("an entry expires with its TTL: the provider is asked again", async () => {
    const before = calls();
    expect((await chat(plain.key, ask("Short-lived"), { "x-gateway-cache-ttl": "1" })).headers.get("x-gateway-cache")).toBe("miss");
    await until("the entry to expire", async () => (await chat(plain.key, ask("Short-lived"), { "x-gateway-cache-ttl": "1" })).headers.get("x-gateway-cache") === "miss", 10_000);
    expect(calls() - before).toBe(2);
  });

  test("past the size cap (cache_max_mb) the oldest answers go first; the table stays under the cap", async () => {
    for (let i = 0; i < 12; i++) await chat(cached.key, ask(`Evict ${i}`));
    await until("the last answer stored", async () => (await chat(cached.key, ask("Evict 11"))).headers.get("x-gateway-cache") === "hit");
    expect((await chat(cached.key, ask("Evict 0"))).headers.get("x-gateway-cache")).toBe("miss");
    const db = new Database(gw.dbPath, { readonly: true });
    const { bytes } = db.query<{ bytes: number }, []>("SELECT total(bytes) AS bytes FROM response_cache").get()!;
    db.close();
    expect(bytes).toBeLessThanOrEqual(0.004 * 1024 * 1024);
    expect(bytes).toBeGreaterThan(0);
  });
});

describe("Anthropic Messages and embeddings", () => {
  test("a message cached as JSON replays as Anthropic's events through the Anthropic SDK", async () => {
    const anthropic = new Anthropic({ apiKey: cached.key, baseURL: gw.url, maxRetries: 0 });
    const before = claude.received.length;
    const first = await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "Cache me" }] });
    const stream = anthropic.messages.stream({ model: "claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "Cache me" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(ANTHROPIC_TEXT.join(""));
    expect(final.content as unknown).toEqual(first.content);
    expect(final.usage.output_tokens).toBe(first.usage.output_tokens);
    expect(final.id).not.toBe(first.id);
    expect(claude.received.length - before).toBe(1);
    expect(gw.rows().at(-1)).toMatchObject({ cache_hit: 1, provider: "claude", cost_nano_usd: 0, streamed: 1 });
  });

  test("embeddings are cached (always deterministic)", async () => {
    const client = new OpenAI({ apiKey: cached.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const before = upstream.received.filter((r) => r.path.endsWith("/embeddings")).length;
    const a = await client.embeddings.create({ model: "text-embedding-3-small", input: "same text", encoding_format: "float" });
    const b = await client.embeddings.create({ model: "text-embedding-3-small", input: "same text", encoding_format: "float" });
    expect(b.data).toEqual(a.data);
    expect(upstream.received.filter((r) => r.path.endsWith("/embeddings")).length - before).toBe(1);
    expect(gw.rows().at(-1)).toMatchObject({ cache_hit: 1, cost_nano_usd: 0 });
  });
});
