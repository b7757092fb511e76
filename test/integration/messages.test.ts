// Anthropic's Messages API through the compiled binary, with the clients customers use: @anthropic-ai/sdk
// against an Anthropic provider (passed through) and an OpenAI-compatible one (translated), and the
// openai SDK calling a Claude model through chat completions (translated). Content, rows, exact costs,
// and errors in the shape of the API called.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { ANTHROPIC_TEXT, startFakeAnthropic, TOOL_INPUT } from "../helpers/fake-anthropic.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const claude = startFakeAnthropic();
const openaiUpstream = startFakeUpstream();
let gw: TestGateway;
let key: { id: string; key: string };

// claude-haiku-4-5 at $1 / $5 / $0.10 cache read / $1.25 cache write per million tokens. The fake reports
// 30 uncached + 400 read + 100 written input tokens and 12 output tokens:
// 30*1000 + 400*100 + 100*1250 + 12*5000 = 255,000 nano-dollars.
const CLAUDE_COST = 255_000;
const WRONG_KEY = "sk-ant-wrong-operator-key-0042";
// gpt-4o-mini at $0.15 / $0.60 / $0.075 cached: the OpenAI fake reports 1200 prompt (200 cached) and 300
// completion tokens: 1000*150 + 200*75 + 300*600 = 345,000 nano-dollars.
const GPT_MINI_COST = 345_000;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: openaiUpstream.url,
    env: { FAKE_KEY: PROVIDER_KEY, BAD_KEY: WRONG_KEY },
    configToml: [
      `[[providers]]\nname = "claude-misconfigured"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "BAD_KEY"\nmodels = ["claude-bad-*"]\n`,
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["claude-*"]\n`,
      `[[providers]]\nname = "oai"\nbase_url = "${openaiUpstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*"]\n`,
      `[models."gpt-4.1-nano"]\ninput_cost_per_token = 0.0000001\noutput_cost_per_token = 0.0000004\nmax_output_tokens = 16384\n`,
    ].join("\n"),
  });
  key = await gw.createKey("claude-coder");
});
afterAll(async () => {
  await gw.stop();
  await claude.stop();
  await openaiUpstream.stop();
});

const anthropic = (opts: { apiKey?: string; authToken?: string } = { apiKey: key.key }) => new Anthropic({ ...opts, baseURL: gw.url, maxRetries: 0 });
const lastRow = () => gw.rows().at(-1)!;
const weather = { name: "get_weather", description: "Weather in a city", input_schema: { type: "object" as const, properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] } };

describe("POST /v1/messages to an Anthropic provider (passed through)", () => {
  test("messages.create with x-api-key: the answer, the provider's key and headers upstream, one row with cache writes and reads at their prices", async () => {
    const msg = await anthropic().messages.create(
      { model: "claude-haiku-4-5", max_tokens: 200, messages: [{ role: "user", content: "Say hello" }] },
      { headers: { "anthropic-beta": "prompt-caching-2024-07-31" } },
    );
    expect(msg.content[0]).toMatchObject({ type: "text", text: ANTHROPIC_TEXT.join("") });
    expect(msg.usage).toMatchObject({ input_tokens: 30, cache_read_input_tokens: 400 });
    const sent = claude.received.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(PROVIDER_KEY);
    expect(sent.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/); // the SDK's own, forwarded
    expect(sent.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(JSON.stringify(sent.headers)).not.toContain(key.key);
    expect(lastRow()).toMatchObject({ key_id: key.id, provider: "claude", model_answered: "claude-haiku-4-5-20250929", prompt_tokens: 530, cached_tokens: 400, cache_write_tokens: 100, completion_tokens: 12, cost_nano_usd: CLAUDE_COST, estimated: 0, streamed: 0 });
  });

  test("streamed with a tool, the key as a bearer token (ANTHROPIC_AUTH_TOKEN): events as sent, the tool call's input, usage recorded", async () => {
    const rows = gw.rows().length;
    const stream = anthropic({ authToken: key.key }).messages.stream({ model: "claude-haiku-4-5", max_tokens: 200, tools: [weather], messages: [{ role: "user", content: "Weather in Paris?" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(ANTHROPIC_TEXT.join(""));
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content[1]).toMatchObject({ type: "tool_use", name: "get_weather", input: TOOL_INPUT });
    expect(final.usage.output_tokens).toBe(12);
    expect(gw.rows().length).toBe(rows + 1);
    expect(lastRow()).toMatchObject({ streamed: 1, prompt_tokens: 530, completion_tokens: 12, cache_write_tokens: 100, cost_nano_usd: CLAUDE_COST, estimated: 0 });
  });

  test("count_tokens is asked of the provider and not recorded", async () => {
    const rows = gw.rows().length;
    const counted = await anthropic().messages.countTokens({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "How many?" }] });
    expect(counted.input_tokens).toBe(42);
    expect(claude.received.at(-1)!.path).toBe("/v1/messages/count_tokens");
    expect(gw.rows().length).toBe(rows);
  });

  test("GET /v1/models lists the Anthropic provider's own models (asked with its key and version)", async () => {
    const list = (await (await fetch(`${gw.url}/v1/models`, { headers: { "x-api-key": key.key } })).json()) as { data: { id: string; owned_by: string; created: number }[] };
    expect(list.data.find((m) => m.id === "claude-sonnet-4-5-20250929")).toEqual({ id: "claude-sonnet-4-5-20250929", object: "model", created: 1_759_104_000, owned_by: "claude" } as never);
    const asked = claude.received.filter((r) => r.path === "/v1/models").at(-1)!;
    expect(asked.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test("a model by its alias (Claude Code's claude-sonnet-4-5 for the listed claude-sonnet-4-5-20250929): Anthropic's SDK gets Anthropic's model object, OpenAI's its own", async () => {
    const byAnthropic = await anthropic().models.retrieve("claude-sonnet-4-5");
    expect(byAnthropic).toMatchObject({ type: "model", id: "claude-sonnet-4-5", created_at: new Date(1_759_104_000_000).toISOString() });
    const byOpenAI = await new OpenAI({ apiKey: key.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).models.retrieve("claude-sonnet-4-5");
    expect(byOpenAI).toMatchObject({ id: "claude-sonnet-4-5", object: "model", owned_by: "claude" });
    const missing = await anthropic().models.retrieve("claude-nonexistent-9").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
  });

  test("errors are Anthropic-shaped: unknown key, missing messages, unknown model, the provider's own 400", async () => {
    const bad = await anthropic({ apiKey: "sk-not-a-key" }).messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((bad as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const post = (body: unknown) => fetch(`${gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": key.key, "content-type": "application/json" }, body: JSON.stringify(body) });
    const missing = await post({ model: "claude-haiku-4-5", max_tokens: 10 });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "messages: Field required." } });
    const unknown = await post({ model: "mystery-1", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("mystery-1") } });
    const upstream400 = await post({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }] });
    expect(upstream400.status).toBe(400);
    expect(await upstream400.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } });
    const notFound = await fetch(`${gw.url}/v1/messages/batches`, { method: "POST", headers: { "x-api-key": key.key } });
    expect(await notFound.json()).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("POST /v1/messages") } });
  });
});

describe("POST /v1/messages: what is never lost or leaked", () => {
  test("a client that goes away mid-stream leaves one estimated row", async () => {
    const rows = gw.rows().length;
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      signal: controller.signal,
      headers: { "x-api-key": key.key, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 50, stream: true, metadata: { user_id: "slow" }, messages: [{ role: "user", content: "hi" }] }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: message_start");
    controller.abort();
    for (let i = 0; i < 50 && gw.rows().length === rows; i++) await Bun.sleep(50);
    expect(gw.rows().length).toBe(rows + 1);
    expect(lastRow()).toMatchObject({ key_id: key.id, streamed: 1, estimated: 1, provider: "claude" });
    expect(lastRow().prompt_tokens as number).toBeGreaterThan(0);
  });

  test("a provider that refuses the operator's key: a 502 in Anthropic's shape, the key in no body and no log line", async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key.key, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-bad-1", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ type: "error", error: { type: "api_error", message: "The upstream provider 'claude-misconfigured' refused the gateway's credentials. Contact the gateway operator." } });
    expect(claude.received.at(-1)!.headers["x-api-key"]).toBe(WRONG_KEY);
    for (const secret of [WRONG_KEY, PROVIDER_KEY, key.key]) {
      expect(text).not.toContain(secret);
      expect(gw.logs()).not.toContain(secret);
    }
  });
});

describe("POST /v1/messages to an OpenAI-compatible provider (translated, what Claude Code needs on other models)", () => {
  test("the Vercel AI SDK's Anthropic provider (@ai-sdk/anthropic) reads translated answers, streamed and not: text and usage", async () => {
    const { createAnthropic } = await import("@ai-sdk/anthropic");
    const { generateText, streamText } = await import("ai");
    const provider = createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: key.key });
    const generated = await generateText({ model: provider("gpt-4o-mini"), prompt: "Say hello", maxRetries: 0 });
    expect(generated.text).toBe("Hello from the fake upstream. ✓ ünïcödé");
    expect(generated.usage.outputTokens).toBe(300);
    const streamed = streamText({ model: provider("gpt-4o-mini"), prompt: "Say hello", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text.length).toBeGreaterThan(0);
    expect((await streamed.usage).outputTokens).toBe(300);
  });

  test("not streamed: a message from the completion, usage in Anthropic's terms, the row at the model's prices", async () => {
    const msg = await anthropic().messages.create({ model: "gpt-4o-mini", max_tokens: 100, system: "Be brief.", messages: [{ role: "user", content: "Say hello" }] });
    expect(msg.content).toEqual([{ type: "text", text: "Hello from the fake upstream. ✓ ünïcödé", citations: null }]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage).toMatchObject({ input_tokens: 1000, cache_read_input_tokens: 200, output_tokens: 300 });
    const sent = openaiUpstream.received.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(sent.body).toMatchObject({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }] });
    expect(lastRow()).toMatchObject({ provider: "oai", prompt_tokens: 1200, cached_tokens: 200, completion_tokens: 300, cost_nano_usd: GPT_MINI_COST, estimated: 0 });
  });

  test("Claude Code's max_tokens 32,000: lowered to a model's known output limit, sent as max_completion_tokens to reasoning models", async () => {
    await anthropic().messages.stream({ model: "gpt-4.1-nano", max_tokens: 32_000, messages: [{ role: "user", content: "hi" }] }).finalMessage();
    expect(openaiUpstream.received.at(-1)!.body).toMatchObject({ model: "gpt-4.1-nano", max_tokens: 16_384 });
    await anthropic().messages.stream({ model: "gpt-5.1-codex", max_tokens: 32_000, messages: [{ role: "user", content: "hi" }] }).finalMessage();
    const sent = openaiUpstream.received.at(-1)!.body;
    expect(sent).toMatchObject({ model: "gpt-5.1-codex", max_completion_tokens: 32_000 });
    expect(sent.max_tokens).toBeUndefined();
  });

  test("streamed: Anthropic events from the chunks, text and usage; tools and tool results translated upstream", async () => {
    const stream = anthropic().messages.stream({
      model: "gpt-4o-mini",
      max_tokens: 100,
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "18 degrees" }] },
      ],
    });
    let started: { input_tokens: number } | undefined;
    stream.on("streamEvent", (e) => void (e.type === "message_start" && (started = { ...e.message.usage })));
    const final = await stream.finalMessage();
    expect(final.content).toMatchObject([{ type: "text", text: "Hello from the fake stream ✓" }]);
    expect(final.content).toHaveLength(1);
    expect(final.usage).toMatchObject({ input_tokens: 1000, output_tokens: 300 });
    // message_start states the prompt's tokens as the gateway counted them (LangChain reads them there);
    // message_delta then carries the upstream's own count.
    expect(started!.input_tokens).toBeGreaterThan(20);
    expect(started!.input_tokens).toBeLessThan(400);
    const sent = openaiUpstream.received.at(-1)!.body;
    expect(sent).toMatchObject({ stream: true, stream_options: { include_usage: true }, tools: [{ type: "function", function: { name: "get_weather", parameters: weather.input_schema } }] });
    expect((sent.messages as unknown[]).slice(1)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "18 degrees" },
    ]);
    expect(lastRow()).toMatchObject({ streamed: 1, prompt_tokens: 1200, completion_tokens: 300, cost_nano_usd: GPT_MINI_COST, estimated: 0 });
  });

  test("count_tokens without a provider that counts: the gateway's tokenizer", async () => {
    const counted = await anthropic().messages.countTokens({ model: "gpt-4o-mini", messages: [{ role: "user", content: "How many tokens is this?" }] });
    expect(counted.input_tokens).toBeGreaterThan(5);
    expect(counted.input_tokens).toBeLessThan(40);
  });
});

describe("chat completions to an Anthropic provider (translated: Claude for OpenAI SDK customers)", () => {
  const openai = () => new OpenAI({ apiKey: key.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });

  test("with tools, not streamed: a tool call from the tool_use block; the request translated (system, max_tokens from the price list, tools)", async () => {
    const reply = await openai().chat.completions.create({
      model: "claude-haiku-4-5",
      messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Weather in Paris?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: weather.input_schema } }],
      tool_choice: "required",
      stop: "END",
    });
    const choice = reply.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe(ANTHROPIC_TEXT.join(""));
    expect(choice.message.tool_calls?.[0]).toMatchObject({ id: "toolu_fake1", type: "function", function: { name: "get_weather" } });
    expect(JSON.parse((choice.message.tool_calls![0] as { function: { arguments: string } }).function.arguments)).toEqual(TOOL_INPUT);
    expect(reply.usage).toMatchObject({ prompt_tokens: 530, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 400 } });
    const sent = claude.received.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(PROVIDER_KEY);
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.body).toMatchObject({
      model: "claude-haiku-4-5",
      system: "You are terse.",
      max_tokens: 4096,
      messages: [{ role: "user", content: [{ type: "text", text: "Weather in Paris?" }] }],
      tools: [{ name: "get_weather", input_schema: weather.input_schema }],
      tool_choice: { type: "any" },
      stop_sequences: ["END"],
    });
    expect(lastRow()).toMatchObject({ provider: "claude", prompt_tokens: 530, cached_tokens: 400, cache_write_tokens: 100, completion_tokens: 12, cost_nano_usd: CLAUDE_COST, estimated: 0 });
  });

  test("streamed with a tool: content deltas, tool-call argument deltas, finish_reason, and the usage chunk only when asked for", async () => {
    const stream = await openai().chat.completions.create({
      model: "claude-haiku-4-5",
      stream: true,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: weather.input_schema } }],
    });
    let text = "";
    let args = "";
    let finish: string | null = null;
    let usageChunks = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usageChunks++;
      const c = chunk.choices[0];
      text += c?.delta?.content ?? "";
      args += c?.delta?.tool_calls?.[0]?.function?.arguments ?? "";
      finish = c?.finish_reason ?? finish;
    }
    expect(text).toBe(ANTHROPIC_TEXT.join(""));
    expect(JSON.parse(args)).toEqual(TOOL_INPUT);
    expect(finish).toBe("tool_calls");
    expect(usageChunks).toBe(0);
    expect(lastRow()).toMatchObject({ streamed: 1, prompt_tokens: 530, completion_tokens: 12, cost_nano_usd: CLAUDE_COST, estimated: 0 });

    const withUsage = await openai().chat.completions.create({ model: "claude-haiku-4-5", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    expect(usage).toMatchObject({ prompt_tokens: 530, completion_tokens: 12, total_tokens: 542 });
  });

  test("what the provider's API cannot express is refused before anything is forwarded: n > 1", async () => {
    const before = claude.received.length;
    const rows = gw.rows().length;
    const err = await openai().chat.completions.create({ model: "claude-haiku-4-5", n: 2, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: "unsupported_value", param: "n" });
    expect(claude.received.length).toBe(before);
    expect(gw.rows().length).toBe(rows);
  });

  test("the provider's errors reach an OpenAI SDK customer in OpenAI's shape", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: "many", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: "max_tokens: Field required", type: "invalid_request_error", param: null, code: "upstream_400" } });
  });
});
