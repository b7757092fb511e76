// Web search on a budgeted key (Codex offers it on every request): the gateway caps the searches on the
// wire (max_tool_calls, max_uses), reserves each at its catalog price plus a context window of input, and
// charges the searches the provider reports. OpenAI's SDK on the Responses API, Anthropic's on Messages.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { ANTHROPIC_SEARCH_PROMPT, ANTHROPIC_SEARCH_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { SEARCH_PROMPT, SEARCH_USAGE, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
const claude = startFakeAnthropic();
let gw: TestGateway;
let key: string;
let keyId: string;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: [
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["claude-*"]\n`,
      `[[providers]]\nname = "oai"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["*"]\n`,
      `[models."house-model"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000002\n`,
    ].join("\n"),
  });
  ({ key, id: keyId } = await gw.createKey("searcher", 100, ["--budget", "5"]));
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
  await claude.stop();
});

const lastRow = () => gw.rows().filter((r) => r.key_id === keyId).at(-1)!;
// gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per 1M tokens, $10 per 1,000 searches (the catalog's).
const GPT_MINI_SEARCH_COST = (SEARCH_USAGE.input_tokens - 10) * 150 + 10 * 75 + SEARCH_USAGE.output_tokens * 600 + 10_000_000;
// claude-haiku-4-5: $1 input, $5 output per 1M tokens, $10 per 1,000 searches.
const HAIKU_SEARCH_COST = ANTHROPIC_SEARCH_USAGE.input_tokens * 1000 + ANTHROPIC_SEARCH_USAGE.output_tokens * 5000 + 10_000_000;

describe("web search on a key with a budget", () => {
  const openai = () => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });

  test("Responses API: the gateway sends max_tool_calls, and the row charges the search at its price, streamed and not", async () => {
    const answer = await openai().responses.create({ model: "gpt-4o-mini", input: `Please ${SEARCH_PROMPT} for the weather`, tools: [{ type: "web_search" }] });
    expect(answer.output.map((o) => o.type)).toEqual(["web_search_call", "message"]);
    expect(upstream.received.at(-1)!.body).toMatchObject({ max_tool_calls: 3, tools: [{ type: "web_search" }] });
    expect(lastRow()).toMatchObject({ prompt_tokens: SEARCH_USAGE.input_tokens, completion_tokens: 30, cost_nano_usd: GPT_MINI_SEARCH_COST, over_bound: 0 });
    const stream = await openai().responses.create({ model: "gpt-4o-mini", input: `${SEARCH_PROMPT}, then answer`, tools: [{ type: "web_search" }], max_tool_calls: 1, stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types.at(-1)).toBe("response.completed");
    expect(upstream.received.at(-1)!.body.max_tool_calls).toBe(1);
    expect(lastRow()).toMatchObject({ cost_nano_usd: GPT_MINI_SEARCH_COST, streamed: 1 });
  });

  test("Messages API: the gateway sets the search tool's max_uses, and the row charges server_tool_use's searches, streamed and not", async () => {
    const anthropic = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    const tools = [{ type: "web_search_20250305" as const, name: "web_search" as const }];
    const msg = await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 500, tools, messages: [{ role: "user", content: `${ANTHROPIC_SEARCH_PROMPT}: weather` }] });
    expect(msg.usage.server_tool_use?.web_search_requests).toBe(1);
    expect(claude.received.at(-1)!.body.tools).toEqual([{ type: "web_search_20250305", name: "web_search", max_uses: 3 }]);
    expect(lastRow()).toMatchObject({ prompt_tokens: ANTHROPIC_SEARCH_USAGE.input_tokens, completion_tokens: 40, cost_nano_usd: HAIKU_SEARCH_COST });
    const streamed = await anthropic.messages.stream({ model: "claude-haiku-4-5", max_tokens: 500, tools: [{ ...tools[0]!, max_uses: 2 }], messages: [{ role: "user", content: `${ANTHROPIC_SEARCH_PROMPT}: news` }] }).finalMessage();
    expect(streamed.usage.server_tool_use?.web_search_requests).toBe(1);
    expect((claude.received.at(-1)!.body.tools as { max_uses: number }[])[0]!.max_uses).toBe(2);
    expect(lastRow()).toMatchObject({ cost_nano_usd: HAIKU_SEARCH_COST, streamed: 1 });
  });

  test("the reservation holds every search it allows: a budget below it is refused before anything is forwarded", async () => {
    // 3 searches may each read gpt-4o-mini's 128k context window: ~$0.06 of input, plus $0.03 of searches.
    const small = (await gw.createKey("small-searcher", 100, ["--budget", "0.05"])).key;
    const before = upstream.received.length;
    const client = new OpenAI({ apiKey: small, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const err = await client.responses.create({ model: "gpt-4o-mini", input: SEARCH_PROMPT, tools: [{ type: "web_search" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("insufficient_quota");
    expect(upstream.received.length).toBe(before);
    // One search fits.
    const one = await client.responses.create({ model: "gpt-4o-mini", input: SEARCH_PROMPT, tools: [{ type: "web_search" }], max_tool_calls: 1 });
    expect(one.status).toBe("completed");
  });

  test("a lying upstream that reports more searches than the cap allowed is charged at the reservation, never beyond", async () => {
    const liar = await gw.createKey("liar-searcher", 100, ["--budget", "5"]);
    upstream.setHandler((body) => {
      const search = { type: "web_search_call", id: "ws_x", status: "completed", action: { type: "search", query: "q" } };
      const message = { type: "message", id: "msg_x", status: "completed", role: "assistant", content: [{ type: "output_text", text: "ok", annotations: [] }] };
      // 50 searches on a request capped at one: $0.50 of searches it could never have made.
      return Response.json({ id: "resp_liar", object: "response", status: "completed", model: String(body.model), output: [...Array.from({ length: 50 }, () => search), message], usage: { input_tokens: 100, output_tokens: 5 } });
    });
    try {
      await new OpenAI({ apiKey: liar.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).responses.create({ model: "gpt-4o-mini", input: "x", tools: [{ type: "web_search" }], max_tool_calls: 1 });
    } finally {
      upstream.reset();
    }
    const row = gw.rows().filter((r) => r.key_id === liar.id).at(-1)!;
    expect(row.over_bound).toBe(1);
    // The bound: the prompt's bytes plus one context window of input, 4,096 output tokens, one search.
    expect(Number(row.cost_nano_usd)).toBeLessThan(50 * 10_000_000);
    expect(Number(row.cost_nano_usd)).toBeGreaterThan(10_000_000);
    const view = (await (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${liar.key}` } })).json()) as { spent_usd: string };
    expect(Math.round(Number(view.spent_usd) * 1e9)).toBe(Number(row.cost_nano_usd));
  });

  test("a model whose price has no per-search price is refused a search (403 tool_not_priced); a key without a budget is charged for it", async () => {
    const res = await fetch(`${gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "house-model", input: "x", tools: [{ type: "web_search" }] }) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("tool_not_priced");
    const free = await gw.createKey("free-searcher");
    await new OpenAI({ apiKey: free.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).responses.create({ model: "gpt-4o-mini", input: SEARCH_PROMPT, tools: [{ type: "web_search" }] });
    expect(upstream.received.at(-1)!.body.max_tool_calls).toBeUndefined();
    expect(gw.rows().filter((r) => r.key_id === free.id).at(-1)).toMatchObject({ cost_nano_usd: GPT_MINI_SEARCH_COST });
  });
});
