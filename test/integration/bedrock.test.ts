// An AWS Bedrock provider (type = "bedrock") through the compiled binary: every request SigV4-signed and
// verified by the fake with the AWS SDK's own signer; Converse answers and event streams translated for
// the openai SDK, the Anthropic SDK and the Vercel AI SDK; wrong credentials, throttling with a fallback
// to Anthropic's API, and a stream that breaks off. Rows exact.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { AWS_KEY, AWS_REGION, BEDROCK_TEXT, BEDROCK_TOOL_INPUT, startFakeBedrock } from "../helpers/fake-bedrock.ts";
import { ANTHROPIC_TEXT, startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

const aws = startFakeBedrock();
const claude = startFakeAnthropic();
const unused = startFakeUpstream();
let gw: TestGateway;
let key: { id: string; key: string };

const MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0";
// $1 / $5 / $0.10 cache read / $1.25 cache write per million tokens (the config's). The fake reports 25
// uncached + 100 read + 50 written input tokens and 12 output: 25*1000 + 100*100 + 50*1250 + 12*5000.
const COST = 157_500;
const TEXT = BEDROCK_TEXT.join("");
const WRONG_SECRET = "wrong-secret-never-shown-0123456789abcdef";
const EXACT_ROW = { provider: "bedrock", model_requested: MODEL, prompt_tokens: 175, cached_tokens: 100, cache_write_tokens: 50, completion_tokens: 12, cost_nano_usd: COST, estimated: 0 };

beforeAll(async () => {
  const provider = (name: string, models: string[], extra = "") => `[[providers]]\nname = "${name}"\ntype = "bedrock"\nbase_url = "${aws.url}"\nregion = "${AWS_REGION}"\nmodels = ${JSON.stringify(models)}\n${extra}\n`;
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: unused.url,
    env: { AWS_ACCESS_KEY_ID: AWS_KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: AWS_KEY.secretAccessKey, BAD_SECRET: WRONG_SECRET, TEMP_TOKEN: "session-token-xyz", CLAUDE_KEY: PROVIDER_KEY },
    configToml: [
      provider("bedrock-wrong", ["wrong.*"], `aws_secret_access_key_env = "BAD_SECRET"`),
      provider("bedrock-session", ["session.*"], `aws_session_token_env = "TEMP_TOKEN"`),
      provider("bedrock", ["anthropic.*", "*throttled*", "*broken*"], "max_retries = 1\nretry_max_wait_ms = 10"),
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "CLAUDE_KEY"\nmodels = ["claude-*"]\n`,
      `[[routes]]\nmodels = ["claude-throttled"]\nproviders = ["bedrock"]\nfallbacks = ["claude"]\n`,
      `[models."${MODEL}"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000005\ncache_read_input_token_cost = 0.0000001\ncache_creation_input_token_cost = 0.00000125\n`,
    ].join("\n"),
  });
  key = await gw.createKey("bedrock-user");
});
afterAll(async () => {
  await gw.stop();
  await aws.stop();
  await claude.stop();
  await unused.stop();
});

const openai = () => new OpenAI({ apiKey: key.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const lastRow = () => gw.rows().at(-1)!;
const weather = { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };

describe("chat completions on Bedrock", () => {
  test("JSON: signed with SigV4 (verified by the AWS SDK's signer), the request as Converse, the answer and an exact row", async () => {
    const res = await openai().chat.completions.create({ model: MODEL, messages: [{ role: "system", content: "Be brief" }, { role: "user", content: "Say hello" }], max_tokens: 100, temperature: 0.5 });
    expect(res.choices[0]!.message.content).toBe(TEXT);
    expect(res.model).toBe(MODEL);
    expect(res.usage).toMatchObject({ prompt_tokens: 175, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 100 } });
    const sent = aws.received.at(-1)!;
    expect(sent.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(sent.headers.authorization).toStartWith(`AWS4-HMAC-SHA256 Credential=${AWS_KEY.accessKeyId}/`);
    expect(sent.headers.authorization).toContain(`/${AWS_REGION}/bedrock/aws4_request`);
    expect(JSON.stringify(sent.headers)).not.toContain(key.key);
    expect(sent.body).toEqual({ system: [{ text: "Be brief" }], messages: [{ role: "user", content: [{ text: "Say hello" }] }], inferenceConfig: { maxTokens: 100, temperature: 0.5 } });
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, key_id: key.id, streamed: 0 });
  });

  test("streamed with a tool: the event stream decoded, the call's arguments whole, the usage chunk, the row exact", async () => {
    const stream = await openai().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Weather?" }], tools: [weather], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let args = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? "";
      args += choice?.delta.tool_calls?.[0]?.function?.arguments ?? "";
      finish = choice?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(TEXT);
    expect(JSON.parse(args)).toEqual(BEDROCK_TOOL_INPUT);
    expect(finish).toBe("tool_calls");
    expect(usage).toMatchObject({ prompt_tokens: 175, completion_tokens: 12 });
    expect(aws.received.at(-1)!.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse-stream`);
    expect(aws.received.at(-1)!.body.toolConfig).toEqual({ tools: [{ toolSpec: { name: "get_weather", inputSchema: { json: weather.function.parameters } } }] });
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, streamed: 1 });
  });

  test("the Vercel AI SDK's OpenAI provider, streamed and not", async () => {
    const { createOpenAI } = await import("@ai-sdk/openai");
    const { generateText, streamText } = await import("ai");
    const provider = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.key });
    expect((await generateText({ model: provider.chat(MODEL), prompt: "Say hello", maxRetries: 0 })).text).toBe(TEXT);
    const streamed = streamText({ model: provider.chat(MODEL), prompt: "Say hello", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(TEXT);
    expect((await streamed.usage).outputTokens).toBe(12);
  });

  test("temporary credentials: the session token is sent and signed", async () => {
    await openai().chat.completions.create({ model: "session.model-v1", messages: [{ role: "user", content: "x" }] });
    const sent = aws.received.at(-1)!;
    expect(sent.headers["x-amz-security-token"]).toBe("session-token-xyz");
    expect(sent.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });
});

describe("Anthropic Messages on Bedrock", () => {
  test("the Anthropic SDK, streamed: text, usage with the cache, the row exact", async () => {
    const anthropic = new Anthropic({ apiKey: key.key, baseURL: gw.url, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: MODEL, max_tokens: 300, messages: [{ role: "user", content: "Say hello" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(TEXT);
    expect(final.usage).toMatchObject({ output_tokens: 12, cache_read_input_tokens: 100 });
    expect(aws.received.at(-1)!.body).toMatchObject({ inferenceConfig: { maxTokens: 300 } });
    expect(lastRow()).toMatchObject({ ...EXACT_ROW, streamed: 1 });
  });
});

describe("faults", () => {
  test("a wrong secret: AWS's 403 becomes a 502 for the customer, logged; the secret never shown", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "wrong.model", messages: [{ role: "user", content: "x" }] }) });
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ error: { code: "upstream_auth_failed" } });
    await until("the refusal in the log", () => gw.logs().includes("provider 'bedrock-wrong' refused the gateway's provider key (HTTP 403)"));
    expect(gw.logs() + body).not.toContain(WRONG_SECRET);
    expect(gw.logs() + body).not.toContain(AWS_KEY.secretAccessKey);
  });

  test("Bedrock throttling: retried, then the fallback (Anthropic's API) answers; one row, for the provider that answered", async () => {
    const before = aws.received.length;
    const res = await openai().chat.completions.create({ model: "claude-throttled", messages: [{ role: "user", content: "x" }] });
    expect(res.choices[0]!.message.content).toBe(ANTHROPIC_TEXT.join(""));
    expect(aws.received.length - before).toBe(2); // the first attempt and its retry
    expect(lastRow()).toMatchObject({ provider: "claude", attempts: 3, upstream_status: 200 });
  });

  test("an exception mid-stream: the customer is told the answer is incomplete (no [DONE]); the row is recorded, estimated", async () => {
    const rows = gw.rows().length;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "anthropic.broken-v1", stream: true, messages: [{ role: "user", content: "x" }] }) });
    const text = await res.text();
    expect(text).toContain(`"content":"Hello"`);
    expect(text).toContain("The model stream broke off.");
    expect(text).not.toContain("data: [DONE]");
    expect(gw.rows().length).toBe(rows + 1);
    expect(lastRow()).toMatchObject({ provider: "bedrock", streamed: 1, estimated: 1 });
  });

  test("Converse refusing the request (400 ValidationException): its message in the caller's shape", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: [{ role: "assistant", content: "I start" }] }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: expect.stringContaining("must start with a user message"), code: "upstream_400" } });
  });
});
