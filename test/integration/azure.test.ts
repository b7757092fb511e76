// An Azure OpenAI provider (type = "azure") through the compiled binary: deployment paths with the
// api-version, the /openai/v1 form, the api-key header; chat, streams, embeddings and responses with the
// openai SDK, Anthropic Messages translated with the Anthropic SDK, the Vercel AI SDK; Azure's content
// filter and a missing deployment in the caller's shape. Rows exact.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { AZURE_API_VERSION, FILTERED, startFakeAzure } from "../helpers/fake-azure.ts";
import { startFakeUpstream, STREAM_PIECES } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const azure = startFakeAzure();
const unused = startFakeUpstream();
let gw: TestGateway;
let key: { id: string; key: string };

// The fake reports 1200 prompt tokens (200 cached) and 300 completion tokens. gpt-4o at $2.50 / $10 /
// $1.25 cached per million: 1000*2500 + 200*1250 + 300*10000 = 5,750,000 nano-dollars; gpt-4o-mini at
// $0.15 / $0.60 / $0.075: 1000*150 + 200*75 + 300*600 = 345,000.
const GPT4O_COST = 5_750_000;
const MINI_COST = 345_000;
const TEXT = "Hello from the fake upstream. ✓ ünïcödé";

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: unused.url,
    env: { AZURE_KEY: PROVIDER_KEY },
    configToml: [
      `[[providers]]\nname = "azure"\ntype = "azure"\nbase_url = "${azure.url}"\napi_key_env = "AZURE_KEY"\napi_version = "${AZURE_API_VERSION}"\nmodels = ["gpt-4o", "text-embedding-3-small", "gpt-unknown", "o3"]\ndeployments = { "gpt-4o" = "my-4o", "text-embedding-3-small" = "embed-small", "o3" = "my-4o" }\n`,
      `[[providers]]\nname = "azure-v1"\ntype = "azure"\nbase_url = "${azure.url}"\napi_key_env = "AZURE_KEY"\napi_version = "v1"\nmodels = ["gpt-4o-mini"]\ndeployments = { "gpt-4o-mini" = "mini-dep" }\n`,
      `[models."gpt-4o"]\ninput_cost_per_token = 0.0000025\noutput_cost_per_token = 0.00001\ncache_read_input_token_cost = 0.00000125\n`,
      `[models."gpt-4o-mini"]\ninput_cost_per_token = 0.00000015\noutput_cost_per_token = 0.0000006\ncache_read_input_token_cost = 0.000000075\n`,
      `[models."text-embedding-3-small"]\ninput_cost_per_token = 0.00000002\noutput_cost_per_token = 0\n`,
    ].join("\n"),
  });
  key = await gw.createKey("azure-user");
});
afterAll(async () => {
  await gw.stop();
  await azure.stop();
  await unused.stop();
});

const openai = () => new OpenAI({ apiKey: key.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const lastRow = () => gw.rows().at(-1)!;
const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${key.key}` }) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("deployment paths with api-version", () => {
  test("chat: the deployment's path and api-version, the api-key header (no bearer), the deployment as the model; one exact row", async () => {
    const res = await openai().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }] });
    expect(res.choices[0]!.message.content).toBe(TEXT);
    const sent = azure.received.at(-1)!;
    expect(sent.path).toBe(`/openai/deployments/my-4o/chat/completions?api-version=${AZURE_API_VERSION}`);
    expect(sent.headers["api-key"]).toBe(PROVIDER_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body.model).toBe("my-4o");
    expect(lastRow()).toMatchObject({ provider: "azure", key_id: key.id, model_requested: "gpt-4o", model_answered: "gpt-4o-2024-08-06", prompt_tokens: 1200, cached_tokens: 200, completion_tokens: 300, cost_nano_usd: GPT4O_COST, estimated: 0, streamed: 0 });
  });

  test("streamed: Azure's first chunk without choices passes; usage asked for upstream and hidden; the row exact", async () => {
    const stream = await openai().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }], stream: true });
    let text = "";
    const usages = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe(STREAM_PIECES.join(""));
    expect(usages).toEqual([]);
    expect(azure.received.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    expect(lastRow()).toMatchObject({ provider: "azure", cost_nano_usd: GPT4O_COST, estimated: 0, streamed: 1 });
  });

  test("embeddings at their deployment; the Responses API at /openai/responses with the api-version", async () => {
    const emb = await openai().embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"], encoding_format: "float" });
    expect(emb.data[1]!.embedding).toEqual([0.25, -0.5, 0.125]);
    expect(azure.received.at(-1)!.path).toBe(`/openai/deployments/embed-small/embeddings?api-version=${AZURE_API_VERSION}`);
    expect(lastRow()).toMatchObject({ provider: "azure", prompt_tokens: 16, cost_nano_usd: 320, estimated: 0 });
    const res = await openai().responses.create({ model: "gpt-4o", input: "Say hello" });
    expect(res.output_text).toBe("Hello from responses.");
    expect(azure.received.at(-1)!.path).toBe(`/openai/responses?api-version=${AZURE_API_VERSION}`);
    expect(azure.received.at(-1)!.body.model).toBe("my-4o");
  });

  test("the Anthropic SDK: Messages translated to chat at the deployment; the row exact", async () => {
    const anthropic = new Anthropic({ apiKey: key.key, baseURL: gw.url, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: "gpt-4o", max_tokens: 200, messages: [{ role: "user", content: "Say hello" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(STREAM_PIECES.join(""));
    expect(final.usage).toMatchObject({ output_tokens: 300, cache_read_input_tokens: 200 });
    expect(azure.received.at(-1)!.path).toBe(`/openai/deployments/my-4o/chat/completions?api-version=${AZURE_API_VERSION}`);
    expect(lastRow()).toMatchObject({ provider: "azure", cost_nano_usd: GPT4O_COST, estimated: 0, streamed: 1 });
  });

  test("an o-series model under a deployment name still gets max_completion_tokens (the cap field follows the model, not the deployment)", async () => {
    const budgeted = await gw.createKey("azure-budgeted", undefined, ["--budget", "5"]);
    const client = new OpenAI({ apiKey: budgeted.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: "o3", messages: [{ role: "user", content: "x" }] });
    const sent = azure.received.at(-1)!;
    expect(sent.path).toStartWith("/openai/deployments/my-4o/");
    expect(typeof sent.body.max_completion_tokens).toBe("number");
    expect(sent.body.max_tokens).toBeUndefined();
  });
});

describe("the /openai/v1 form (api_version = \"v1\")", () => {
  test("chat at /openai/v1/chat/completions without api-version, the deployment in the body; the Vercel AI SDK reads it", async () => {
    const { createOpenAI } = await import("@ai-sdk/openai");
    const { streamText } = await import("ai");
    const provider = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.key });
    const streamed = streamText({ model: provider.chat("gpt-4o-mini"), prompt: "Say hello", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(STREAM_PIECES.join(""));
    const sent = azure.received.at(-1)!;
    expect(sent.path).toBe("/openai/v1/chat/completions");
    expect(sent.body.model).toBe("mini-dep");
    expect(lastRow()).toMatchObject({ provider: "azure-v1", cost_nano_usd: MINI_COST, streamed: 1 });
  });
});

describe("Azure's refusals in the caller's shape", () => {
  test("the content filter: Azure's 400 passed on to OpenAI clients as is (code content_filter), to Anthropic clients in Anthropic's shape", async () => {
    const chat = await post("/v1/chat/completions", { model: "gpt-4o", messages: [{ role: "user", content: FILTERED }] });
    expect(chat.status).toBe(400);
    expect(await chat.json()).toMatchObject({ error: { code: "content_filter", innererror: { code: "ResponsibleAIPolicyViolation" } } });
    const messages = await post("/v1/messages", { model: "gpt-4o", max_tokens: 10, messages: [{ role: "user", content: FILTERED }] }, { "x-api-key": key.key });
    expect(messages.status).toBe(400);
    expect(await messages.json()).toMatchObject({ type: "error", error: { message: expect.stringContaining("content management policy") } });
    expect(lastRow()).toMatchObject({ provider: "azure", upstream_status: 400, cost_nano_usd: 0 });
  });

  test("a model without a deployment: Azure's 404 DeploymentNotFound, passed on", async () => {
    const res = await post("/v1/chat/completions", { model: "gpt-unknown", messages: [{ role: "user", content: "x" }] });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "DeploymentNotFound" } });
    expect(azure.received.at(-1)!.path).toStartWith("/openai/deployments/gpt-unknown/chat/completions");
  });
});
