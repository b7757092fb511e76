// Every answer says what it cost: `x-gateway-cost-usd` on answers that are not streamed, `"cost"` (USD) in
// the usage a stream ends with, equal to the row's cost, read through the SDKs customers use (which must
// still parse what they get). Compiled binary; an Anthropic provider and an OpenAI-compatible one.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { formatUsd } from "../../src/admission/money.ts";
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const claude = startFakeAnthropic();
const upstream = startFakeUpstream();
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: [
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["claude-*"]\n`,
      `[[providers]]\nname = "oai"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*", "unpriced-*", "text-embedding-*"]\n`,
      `[models."gpt-resp"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000002\ncache_read_input_token_cost = 0.0000001\n`,
    ].join("\n"),
  });
  key = (await gw.createKey("cost-reader")).key;
});
afterAll(async () => {
  await gw.stop();
  await claude.stop();
  await upstream.stop();
});

const openai = () => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
/** The row of the request with this id, and its cost. */
const costOf = (requestId: string | null) => {
  const row = gw.rows().find((r) => r.request_id === requestId)!;
  expect(row).toBeDefined();
  return row.cost_nano_usd as number;
};

describe("what each answer cost", () => {
  test("chat, not streamed: x-gateway-cost-usd is the row's cost; an unpriced model gets none", async () => {
    const { data, response } = await openai().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(data.choices[0]!.message.content).toBeString();
    const cost = costOf(response.headers.get("x-request-id"));
    expect(cost).toBeGreaterThan(0);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(formatUsd(cost));
    const unpriced = await openai().chat.completions.create({ model: "unpriced-model", messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(gw.rows().find((r) => r.request_id === unpriced.response.headers.get("x-request-id"))!.cost_nano_usd).toBeNull();
    expect(unpriced.response.headers.get("x-gateway-cost-usd")).toBeNull();
  });

  test("embeddings: x-gateway-cost-usd is the row's cost", async () => {
    const { data, response } = await openai().embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] }).withResponse();
    expect(data.data).toHaveLength(2);
    const cost = costOf(response.headers.get("x-request-id"));
    expect(cost).toBeGreaterThan(0);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(formatUsd(cost));
  });

  test("chat, streamed with include_usage: the usage chunk the SDK parses has cost = the row's; without include_usage no usage and no cost", async () => {
    const { data: stream, response } = await openai().chat.completions.create({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }).withResponse();
    let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage!.cost).toBe(costOf(response.headers.get("x-request-id")) / 1e9);
    expect(usage!.prompt_tokens).toBeGreaterThan(0);

    const raw = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }) });
    const body = await raw.text();
    expect(body).toEndWith("data: [DONE]\n\n");
    expect(body).not.toContain('"cost"');
    expect(body).not.toContain('"usage":{');
  });

  test("Anthropic Messages: the header on a message, cost in the stream's message_delta usage", async () => {
    const { data, response } = await anthropic().messages.create({ model: "claude-haiku-4-5", max_tokens: 200, messages: [{ role: "user", content: "Say hello" }] }).withResponse();
    expect(data.content[0]!.type).toBe("text");
    expect(response.headers.get("x-gateway-cost-usd")).toBe(formatUsd(costOf(response.headers.get("x-request-id"))));

    const { data: events, response: streamed } = await anthropic().messages.create({ model: "claude-haiku-4-5", max_tokens: 200, stream: true, messages: [{ role: "user", content: "Say hello" }] }).withResponse();
    let deltaUsage: Record<string, unknown> | undefined;
    for await (const e of events) if (e.type === "message_delta") deltaUsage = e.usage as unknown as Record<string, unknown>;
    expect(deltaUsage!.output_tokens).toBe(12);
    expect(deltaUsage!.cost).toBe(costOf(streamed.headers.get("x-request-id")) / 1e9);
  });

  test("Responses API: the header on a response, cost in response.completed's usage", async () => {
    const { data, response } = await openai().responses.create({ model: "gpt-resp", input: "Say hello" }).withResponse();
    expect(data.output_text.length).toBeGreaterThan(0);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(formatUsd(costOf(response.headers.get("x-request-id"))));
    expect(response.headers.get("x-gateway-cost-usd")).toBe("0.000055");

    const { data: events, response: streamed } = await openai().responses.create({ model: "gpt-resp", input: "Say hello", stream: true }).withResponse();
    let usage: Record<string, unknown> | undefined;
    for await (const e of events) if (e.type === "response.completed") usage = e.response.usage as unknown as Record<string, unknown>;
    expect(usage!.cost).toBe(0.000055);
    expect(costOf(streamed.headers.get("x-request-id"))).toBe(55_000);
  });
});
