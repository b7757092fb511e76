// A Gemini provider (type = "gemini") through the compiled binary, with the clients customers use: the
// openai SDK (chat, tools, streams, embeddings), the Anthropic SDK (Messages translated through chat) and
// the Vercel AI SDK. The fake checks Google's key header, paths and request shape; rows are exact.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { GEMINI_BLOCKED, GEMINI_CALL, GEMINI_TEXT, startFakeGemini } from "../helpers/fake-gemini.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

const google = startFakeGemini();
const unused = startFakeUpstream();
let gw: TestGateway;
let key: { id: string; key: string };

// gemini-2.5-flash at $1 / $4 / $0.25 cached per million tokens (set in the config, so the figures are
// ours). The fake reports 40 prompt tokens (10 cached), 12 answer + 8 thinking tokens:
// 30*1000 + 10*250 + 20*4000 = 112,500 nano-dollars.
const COST = 112_500;
const TEXT = GEMINI_TEXT.join("");

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: unused.url,
    env: { GOOGLE_KEY: PROVIDER_KEY, WRONG_KEY: "AIza-wrong-operator-key" },
    configToml: [
      `[[providers]]\nname = "gemini-bad"\ntype = "gemini"\nbase_url = "${google.url}"\napi_key_env = "WRONG_KEY"\nmodels = ["bad-gemini"]\n`,
      `[[providers]]\nname = "gemini"\ntype = "gemini"\nbase_url = "${google.url}"\napi_key_env = "GOOGLE_KEY"\nmodels = ["gemini-*", "missing-*"]\n`,
      `[models."gemini-2.5-flash"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000004\ncache_read_input_token_cost = 0.00000025\nmax_output_tokens = 8192\n`,
      `[models."gemini-embedding-001"]\ninput_cost_per_token = 0.00000015\noutput_cost_per_token = 0\n`,
    ].join("\n"),
  });
  key = await gw.createKey("gemini-user");
});
afterAll(async () => {
  await gw.stop();
  await google.stop();
  await unused.stop();
});

const openai = () => new OpenAI({ apiKey: key.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const lastRow = () => gw.rows().at(-1)!;
const weather = { type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const EXACT_ROW = { provider: "gemini", model_answered: "gemini-2.5-flash-001", prompt_tokens: 40, cached_tokens: 10, completion_tokens: 20, reasoning_tokens: 8, cost_nano_usd: COST, estimated: 0 };

describe("chat completions on Gemini", () => {
  test("JSON: the answer without thoughts, Google's key and path upstream, the request translated, one exact row", async () => {
    const res = await openai().chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "system", content: "Be brief" }, { role: "user", content: "Say hello" }], temperature: 0.2, stop: ["END"] });
    expect(res.choices[0]!.message.content).toBe(TEXT);
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 10 }, completion_tokens_details: { reasoning_tokens: 8 } });
    const sent = google.received.at(-1)!;
    expect(sent.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(sent.headers["x-goog-api-key"]).toBe(PROVIDER_KEY);
    expect(JSON.stringify(sent.headers)).not.toContain(key.key);
    expect(sent.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
      systemInstruction: { parts: [{ text: "Be brief" }] },
      generationConfig: { temperature: 0.2, stopSequences: ["END"] },
    });
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, key_id: key.id, streamed: 0 });
  });

  test("tools: a functionCall comes back as a tool call; its result goes up as a functionResponse named after the call", async () => {
    const first = await openai().chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weather], tool_choice: "required" });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && call.function).toMatchObject({ name: GEMINI_CALL.name, arguments: JSON.stringify(GEMINI_CALL.args) });
    expect(google.received.at(-1)!.body).toMatchObject({ tools: [{ functionDeclarations: [{ name: "get_weather", parameters: weather.function.parameters }] }], toolConfig: { functionCallingConfig: { mode: "ANY" } } });
    const second = await openai().chat.completions.create({
      model: "gemini-2.5-flash",
      tools: [weather],
      messages: [{ role: "user", content: "Weather in Paris?" }, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "18°C" }],
    });
    expect(second.choices[0]!.message.content).toBe(TEXT);
    expect(google.received.at(-1)!.body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      { role: "model", parts: [{ text: TEXT }, { functionCall: GEMINI_CALL }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { result: "18°C" } } }] },
    ]);
  });

  test("streamed: the text in order, the usage chunk only when asked, the row exact either way", async () => {
    const asked = await openai().chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "Say hello" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of asked) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(TEXT);
    expect(usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 20 });
    expect(google.received.at(-1)!.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, streamed: 1 });
    const rows = gw.rows().length;
    const plain = await openai().chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "Say hello" }], stream: true });
    const chunks = [];
    for await (const chunk of plain) chunks.push(chunk);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
    expect(gw.rows().length).toBe(rows + 1);
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, streamed: 1 });
  });

  test("a prompt blocked by Google's safety filter ends with finish_reason content_filter", async () => {
    const res = await openai().chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: GEMINI_BLOCKED }] });
    expect(res.choices[0]!.finish_reason).toBe("content_filter");
  });

  test("the Vercel AI SDK's OpenAI provider reads the translated answers, streamed and not", async () => {
    const { createOpenAI } = await import("@ai-sdk/openai");
    const { generateText, streamText } = await import("ai");
    const provider = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.key });
    const generated = await generateText({ model: provider.chat("gemini-2.5-flash"), prompt: "Say hello", maxRetries: 0 });
    expect(generated.text).toBe(TEXT);
    expect(generated.usage.outputTokens).toBe(20);
    const streamed = streamText({ model: provider.chat("gemini-2.5-flash"), prompt: "Say hello", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(TEXT);
    expect((await streamed.usage).inputTokens).toBe(40);
  });
});

describe("Anthropic Messages and embeddings on Gemini", () => {
  test("the Anthropic SDK, streamed with a tool: text, the tool call's input, usage; the row exact", async () => {
    const anthropic = new Anthropic({ apiKey: key.key, baseURL: gw.url, maxRetries: 0 });
    const stream = anthropic.messages.stream({
      model: "gemini-2.5-flash",
      max_tokens: 300,
      system: "Be brief",
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(TEXT);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_weather", input: GEMINI_CALL.args });
    expect(final.usage.output_tokens).toBe(20);
    expect(google.received.at(-1)!.body).toMatchObject({ systemInstruction: { parts: [{ text: "Be brief" }] }, generationConfig: { maxOutputTokens: 300 } });
    // Anthropic's usage has no reasoning field: the thinking tokens are in the output tokens, priced as output.
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, reasoning_tokens: null, streamed: 1 });
  });

  test("a key with a budget: the output cap the gateway reserved goes up as maxOutputTokens", async () => {
    const budgeted = await gw.createKey("gemini-budgeted", undefined, ["--budget", "5"]);
    const client = new OpenAI({ apiKey: budgeted.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "Say hello" }] });
    expect(google.received.at(-1)!.body.generationConfig).toEqual({ maxOutputTokens: 8192 });
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, key_id: budgeted.id });
  });

  test("embeddings through the openai SDK (base64 by default): Google's vectors, in order; the input counted by the gateway", async () => {
    const res = await openai().embeddings.create({ model: "gemini-embedding-001", input: ["one", "three"] });
    expect(res.data.map((d) => d.index)).toEqual([0, 1]);
    expect(res.data[0]!.embedding[0]).toBeCloseTo(0.3, 5);
    expect(res.data[1]!.embedding).toEqual([expect.closeTo(0.5, 5), 0.5, -0.25]);
    const sent = google.received.at(-1)!;
    expect(sent.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(sent.body).toEqual({ requests: [{ model: "models/gemini-embedding-001", content: { parts: [{ text: "one" }] } }, { model: "models/gemini-embedding-001", content: { parts: [{ text: "three" }] } }] });
    const row = lastRow();
    expect(row).toMatchObject({ provider: "gemini", estimated: 1, completion_tokens: 0 });
    expect(row.cost_nano_usd).toBe(Number(row.prompt_tokens) * 150);
  });
});

describe("errors in the caller's shape", () => {
  test("Google refusing the operator's key (400 API_KEY_INVALID) is a 502 for the customer, logged, the key never shown", async () => {
    const err = await openai().chat.completions.create({ model: "bad-gemini", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("upstream_auth_failed");
    await until("the refusal in the log", () => gw.logs().includes("provider 'gemini-bad' refused the gateway's provider key"));
    expect(gw.logs()).not.toContain("AIza-wrong-operator-key");
  });

  test("an unknown model: Google's 404 message, in OpenAI's shape for chat and Anthropic's for Messages", async () => {
    const chat = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "missing-model", messages: [{ role: "user", content: "x" }] }) });
    expect(chat.status).toBe(404);
    expect(await chat.json()).toMatchObject({ error: { message: "models/missing-model is not found for API version v1beta", type: "NOT_FOUND" } });
    const messages = await fetch(`${gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": key.key, "content-type": "application/json" }, body: JSON.stringify({ model: "missing-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }) });
    expect(messages.status).toBe(404);
    expect(await messages.json()).toMatchObject({ type: "error", error: { message: "models/missing-model is not found for API version v1beta" } });
  });
});
