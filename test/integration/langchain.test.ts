// LangChain's chat models against the compiled binary, on the translated paths (ChatAnthropic to an
// OpenAI-compatible model, ChatOpenAI to an Anthropic model), streamed and not: the text, and usage
// with the prompt's tokens (LangChain's ChatAnthropic reads input tokens from message_start).
import { ChatAnthropic } from "@langchain/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { ANTHROPIC_TEXT, startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { startFakeUpstream, STREAM_PIECES } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const claude = startFakeAnthropic();
const openaiUpstream = startFakeUpstream();
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: openaiUpstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: [
      `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["claude-*"]\n`,
      `[[providers]]\nname = "oai"\nbase_url = "${openaiUpstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*"]\n`,
    ].join("\n"),
  });
  key = (await gw.createKey("langchain")).key;
});
afterAll(async () => {
  await gw.stop();
  await claude.stop();
  await openaiUpstream.stop();
});

test("ChatAnthropic on an OpenAI-compatible model: invoke and stream, text and usage (input tokens from the first event)", async () => {
  const model = new ChatAnthropic({ model: "gpt-4o-mini", anthropicApiUrl: gw.url, apiKey: key, maxTokens: 100, maxRetries: 0 });
  const answer = await model.invoke("Say hello");
  expect(answer.content).toBe("Hello from the fake upstream. ✓ ünïcödé");
  expect(answer.usage_metadata).toMatchObject({ output_tokens: 300 });
  expect(answer.usage_metadata!.input_tokens).toBeGreaterThan(0);
  let text = "";
  let inputTokens = 0;
  for await (const chunk of await model.stream("Say hello")) {
    text += typeof chunk.content === "string" ? chunk.content : "";
    inputTokens += chunk.usage_metadata?.input_tokens ?? 0;
  }
  expect(text).toBe(STREAM_PIECES.join(""));
  expect(inputTokens).toBeGreaterThan(0); // 0 before: message_start said input_tokens 0
});

test("ChatOpenAI on an Anthropic model: invoke and stream, text and usage", async () => {
  const model = new ChatOpenAI({ model: "claude-haiku-4-5", configuration: { baseURL: `${gw.url}/v1` }, apiKey: key, maxRetries: 0 });
  const answer = await model.invoke("Say hello");
  expect(answer.content).toBe(ANTHROPIC_TEXT.join(""));
  expect(answer.usage_metadata!.output_tokens).toBe(12);
  let text = "";
  let usage: { input_tokens: number; output_tokens: number } | undefined;
  for await (const chunk of await model.stream("Say hello", { stream_options: { include_usage: true } } as never)) {
    text += typeof chunk.content === "string" ? chunk.content : "";
    if (chunk.usage_metadata) usage = chunk.usage_metadata;
  }
  expect(text).toBe(ANTHROPIC_TEXT.join(""));
  expect(usage?.output_tokens).toBe(12);
});
