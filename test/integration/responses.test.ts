// OpenAI's Responses API through the compiled binary with the openai SDK: content, the row, its exact
// cost, streaming with the terminal event held for the commit, and stored responses per key.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { sseResponse, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

// $1 / $2 / $0.10 per million input / output / cached input tokens. The fake reports 40 input (10 cached)
// and 12 output tokens: 30*1000 + 10*100 + 12*2000 = 55,000 nano-dollars.
const upstream = startFakeUpstream();
let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: `[[providers]]\nname = "fake"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*"]\n\n[[providers]]\nname = "noresp"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["old-*"]\nendpoints = ["chat"]\n\n[models."gpt-resp"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000002\ncache_read_input_token_cost = 0.0000001\n`,
  });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

describe("POST /v1/responses", () => {
  test("responses.create, not streamed: the provider's answer, one row with its tokens and exact cost; retrieve and delete by the same key only", async () => {
    const { id, key } = await gw.createKey("responder");
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const res = await client.responses.create({ model: "gpt-resp", input: "Say hello" });
    expect(res.output_text).toBe("Hello from responses.");
    expect(res.usage?.input_tokens).toBe(40);
    expect(upstream.received.at(-1)).toMatchObject({ path: "/v1/responses", body: { model: "gpt-resp", input: "Say hello" } });
    const row = gw.rows().filter((r) => r.key_id === id).at(-1)!;
    expect(row).toMatchObject({ model_requested: "gpt-resp", prompt_tokens: 40, completion_tokens: 12, cached_tokens: 10, reasoning_tokens: 2, cost_nano_usd: 55_000, estimated: 0, streamed: 0, response_id: res.id });
    expect((await client.responses.retrieve(res.id)).id).toBe(res.id);
    const other = await gw.createKey("someone-else");
    const stranger = new OpenAI({ apiKey: other.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    expect(await stranger.responses.retrieve(res.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    await client.responses.delete(res.id);
    expect(await client.responses.retrieve(res.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(gw.rows().filter((r) => r.key_id === id)).toHaveLength(1); // retrieve and delete are not billed
  });

  test("responses.create, streamed: events as the provider sent them, usage from response.completed, the row committed first", async () => {
    const { id, key } = await gw.createKey("stream-responder");
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const stream = await client.responses.create({ model: "fake/gpt-resp", input: "Say hello", stream: true });
    const types: string[] = [];
    let text = "";
    let completedId = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") {
        completedId = event.response.id;
        // The row exists before the customer sees the terminal event.
        expect(gw.rows().filter((r) => r.key_id === id)).toHaveLength(1);
      }
    }
    expect(types).toEqual([
      "response.created",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(text).toBe("Hello from responses.");
    expect(gw.rows().filter((r) => r.key_id === id)[0]).toMatchObject({ model_requested: "fake/gpt-resp", cost_nano_usd: 55_000, streamed: 1, estimated: 0, response_id: completedId });
  });

  test("a stream that ends without response.completed ends in an error event and an estimated row", async () => {
    const { id, key } = await gw.createKey("cut-responder");
    upstream.setHandler(() =>
      sseResponse([`event: response.created\ndata: ${JSON.stringify({ type: "response.created", sequence_number: 0, response: { id: "resp_cut", object: "response", status: "in_progress", model: "gpt-resp" } })}\n\n`, `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: "partial words here" })}\n\n`]),
    );
    try {
      const res = await fetch(`${gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "gpt-resp", input: "x", stream: true }) });
      const body = await res.text();
      expect(body).toContain("partial words here");
      expect(body).toContain("event: error");
      expect(body).toContain('"code":"upstream_error"');
      const row = gw.rows().filter((r) => r.key_id === id)[0]!;
      expect(row).toMatchObject({ estimated: 1, streamed: 1 });
      expect(Number(row.completion_tokens)).toBeGreaterThan(0);
    } finally {
      upstream.reset();
    }
  });

  test("a provider that does not serve the Responses API: 404 naming it; bad input: 400; nothing forwarded", async () => {
    const { key } = await gw.createKey("resp-errors");
    const before = upstream.received.length;
    const post = (body: unknown) => fetch(`${gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const noResp = await post({ model: "old-model", input: "x" });
    expect(noResp.status).toBe(404);
    const err = ((await noResp.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("endpoint_not_supported");
    expect(err.message).toContain("'noresp'");
    expect((await post({ input: "x" })).status).toBe(400);
    expect((await post({ model: "gpt-resp", input: "x", stream: "yes" })).status).toBe(400);
    expect(upstream.received.length).toBe(before);
  });
});

describe("the Vercel AI SDK's default OpenAI provider (it speaks the Responses API)", () => {
  test("generateText and streamText: the text, the usage it reports, and one row each", async () => {
    const { createOpenAI } = await import("@ai-sdk/openai");
    const { generateText, streamText } = await import("ai");
    const { id, key } = await gw.createKey("vercel");
    const provider = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: key });
    const generated = await generateText({ model: provider("gpt-resp"), prompt: "Say hello", maxRetries: 0 });
    expect(generated.text).toBe("Hello from responses.");
    expect(generated.usage.inputTokens).toBe(40);
    expect(generated.usage.outputTokens).toBe(12);
    expect(upstream.received.at(-1)!.path).toBe("/v1/responses");
    const streamed = streamText({ model: provider("gpt-resp"), prompt: "Say hello", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe("Hello from responses.");
    expect((await streamed.usage).outputTokens).toBe(12);
    const rows = gw.rows().filter((r) => r.key_id === id);
    expect(rows.map((r) => [r.streamed, r.cost_nano_usd, r.estimated])).toEqual([
      [0, 55_000, 0],
      [1, 55_000, 0],
    ]);
  });
});
