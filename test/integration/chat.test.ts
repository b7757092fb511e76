// The customer's path through the gateway with the official OpenAI SDK, from source and as the compiled binary.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { DEFAULT_USAGE, STREAM_PIECES, startFakeUpstream, streamEvents } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type GatewayMode, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

// Prices chosen so the expected cost is exact: 1000 uncached + 200 cached prompt, 300 completion tokens.
const CONFIG = `
[[providers]]
name = "fake"
base_url = "UPSTREAM"
api_key_env = "FAKE_PROVIDER_KEY"
models = ["gpt-*", "unpriced-*"]

[models."gpt-test"]
input_cost_per_token = 0.000002
output_cost_per_token = 0.000008
cache_read_input_token_cost = 0.000001
`;
const EXPECTED_COST_NANO = 1000 * 2000 + 200 * 1000 + 300 * 8000; // 4_600_000 nano-USD = $0.0046

for (const mode of ["source", "binary"] as GatewayMode[]) {
  describe(`chat completions (${mode})`, () => {
    const upstream = startFakeUpstream();
    let gw: TestGateway;
    let customerKey: string;
    let keyId: string;
    let client: OpenAI;

    beforeAll(async () => {
      gw = await startGateway({
        mode,
        upstreamUrl: upstream.url,
        configToml: CONFIG.replace("UPSTREAM", upstream.url),
        env: { FAKE_PROVIDER_KEY: PROVIDER_KEY },
      });
      ({ key: customerKey, id: keyId } = await gw.createKey("customer-acme", 1000));
      client = new OpenAI({ apiKey: customerKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    });
    afterAll(async () => {
      await gw.stop();
      await upstream.stop();
    });

    test("non-streaming: the upstream's answer, the operator's key upstream, one exact usage row", async () => {
      upstream.received.length = 0;
      const request = {
        model: "gpt-test",
        messages: [{ role: "user" as const, content: "Say hello" }],
        temperature: 0.25,
        tools: [{ type: "function" as const, function: { name: "noop", parameters: { type: "object", properties: {} } } }],
        response_format: { type: "text" as const },
        unknown_field_for_the_upstream: { nested: [1, 2, 3] },
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
      const { data, response } = await client.chat.completions.create(request, { headers: { "x-request-id": "client-req-42" } }).withResponse();
      expect(data.choices[0]!.message.content).toBe("Hello from the fake upstream. ✓ ünïcödé");
      expect(data.usage).toEqual(DEFAULT_USAGE);
      expect(response.headers.get("x-request-id")).toBe("client-req-42");
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("1000");
      expect(Number(response.headers.get("x-ratelimit-remaining-requests"))).toBeLessThan(1000);
      expect(response.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+s$/);

      expect(upstream.received).toHaveLength(1);
      const got = upstream.received[0]!;
      expect(got.path).toBe("/v1/chat/completions");
      expect(got.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
      expect(got.body).toEqual(request as unknown as Record<string, unknown>);
      expect(JSON.stringify(got.headers)).not.toContain(customerKey);

      const row = gw.rows().find((r) => r.request_id === "client-req-42")!;
      expect(row).toMatchObject({
        key_id: keyId,
        model_requested: "gpt-test",
        model_answered: "gpt-test-2024-08-06",
        provider: "fake",
        prompt_tokens: 1200,
        completion_tokens: 300,
        cached_tokens: 200,
        reasoning_tokens: 50,
        cost_nano_usd: EXPECTED_COST_NANO,
        estimated: 0,
        upstream_status: 200,
        streamed: 0,
      });
      expect(row.latency_ms).toBeGreaterThanOrEqual(0);
    });

    test("streaming: chunks relayed in order, hidden usage chunk, row from the upstream's usage", async () => {
      upstream.received.length = 0;
      const before = gw.rows().length;
      const stream = await client.chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "hi" }], stream: true });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(STREAM_PIECES.join(""));
      expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true);
      expect(upstream.received[0]!.body.stream_options).toEqual({ include_usage: true });
      const rows = gw.rows().slice(before);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ streamed: 1, estimated: 0, prompt_tokens: 1200, completion_tokens: 300, cost_nano_usd: EXPECTED_COST_NANO });
    });

    test("streaming with include_usage: the customer's bytes are the upstream's bytes, the usage object gaining the row's cost", async () => {
      const body = { model: "gpt-test", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } };
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${customerKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{16}[0-9a-z]{6,}$/);
      const text = await res.text();
      const row = gw.rows().find((r) => r.request_id === res.headers.get("x-request-id"))!;
      expect(row).toMatchObject({ streamed: 1, estimated: 0, cached_tokens: 200 });
      const sent = streamEvents(body).join("");
      const at = sent.lastIndexOf('"usage":{') + '"usage":{'.length;
      expect(text).toBe(`${sent.slice(0, at)}"cost":${(row.cost_nano_usd as number) / 1e9},${sent.slice(at)}`);
    });

    test("401 without, with a malformed and with an unknown key; no rows written", async () => {
      const before = gw.rows().length;
      const cases: [Record<string, string>, string][] = [
        [{}, "You didn't provide an API key"],
        [{ authorization: `Basic ${customerKey}` }, "Malformed Authorization header"],
        [{ authorization: "Bearer sk-not-a-real-key-123" }, "Incorrect API key provided"],
      ];
      for (const [headers, message] of cases) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "gpt-test", messages: [] }) });
        expect(res.status).toBe(401);
        expect(res.headers.get("x-request-id")).toBeTruthy();
        const body = (await res.json()) as { error: Record<string, unknown> };
        expect(body).toEqual({ error: { message: expect.stringContaining(message), type: "invalid_request_error", param: null, code: "invalid_api_key" } });
      }
      const sdkErr = await new OpenAI({ apiKey: "sk-wrong-key-0000", baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: "gpt-test", messages: [{ role: "user", content: "x" }] })
        .catch((e: unknown) => e);
      expect(sdkErr).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(gw.rows().length).toBe(before);
    });

    test("400 for malformed bodies names the field; 404 for an unroutable model; unpriced model has a null cost", async () => {
      const post = (body: string) =>
        fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${customerKey}` }, body });
      const cases: [string, string | null, string][] = [
        ["{not json", null, "invalid_json"],
        [JSON.stringify({ messages: [{ role: "user", content: "x" }] }), "model", "missing_required_parameter"],
        [JSON.stringify({ model: "gpt-test" }), "messages", "missing_required_parameter"],
        [JSON.stringify({ model: 42, messages: [] }), "model", "invalid_type"],
        [JSON.stringify({ model: "gpt-test", messages: "hi" }), "messages", "invalid_type"],
        [JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "x" }], stream: "yes" }), "stream", "invalid_type"],
      ];
      for (const [body, param, code] of cases) {
        const res = await post(body);
        expect(res.status).toBe(400);
        const json = (await res.json()) as { error: Record<string, unknown> };
        expect(json.error).toMatchObject({ type: "invalid_request_error", param, code });
      }
      const missing = await post(JSON.stringify({ model: "claude-nowhere", messages: [{ role: "user", content: "x" }] }));
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: unknown }).error).toEqual({
        message: "The model 'claude-nowhere' does not exist or is not routed by this gateway.",
        type: "invalid_request_error",
        param: "model",
        code: "model_not_found",
      });

      const priced = await client.chat.completions.create({ model: "unpriced-model", messages: [{ role: "user", content: "x" }] }).withResponse();
      const row = gw.rows().find((r) => r.request_id === priced.response.headers.get("x-request-id"))!;
      expect(row).toMatchObject({ model_requested: "unpriced-model", prompt_tokens: 1200, completion_tokens: 300, cost_nano_usd: null });
    });

    test("provider/model addressing strips the prefix upstream", async () => {
      upstream.received.length = 0;
      const res = await client.chat.completions.create({ model: "fake/gpt-test", messages: [{ role: "user", content: "x" }] }).withResponse();
      expect(upstream.received[0]!.body.model).toBe("gpt-test");
      const row = gw.rows().find((r) => r.request_id === res.response.headers.get("x-request-id"))!;
      expect(row).toMatchObject({ model_requested: "fake/gpt-test", provider: "fake", cost_nano_usd: EXPECTED_COST_NANO });
    });

    test("GET /v1/models lists the provider's models its patterns route, and needs a key", async () => {
      const list = await client.models.list();
      expect(list.data.map((m) => [m.id, m.owned_by])).toEqual([
        ["gpt-4o", "fake"],
        ["gpt-4o-mini", "fake"],
      ]);
      const anon = await fetch(`${gw.url}/v1/models`);
      expect(anon.status).toBe(401);
    });

    test("the customer key never reaches the upstream, the logs or the database", async () => {
      for (const r of upstream.received) expect(JSON.stringify(r)).not.toContain(customerKey);
      expect(gw.logs()).not.toContain(customerKey);
      expect(gw.logs()).not.toContain(PROVIDER_KEY);
      const file = Buffer.from(await Bun.file(gw.dbPath).arrayBuffer());
      const wal = Bun.file(`${gw.dbPath}-wal`);
      const walBytes = (await wal.exists()) ? Buffer.from(await wal.arrayBuffer()) : Buffer.alloc(0);
      expect(file.includes(customerKey)).toBe(false);
      expect(walBytes.includes(customerKey)).toBe(false);
      expect(file.includes(PROVIDER_KEY) || walBytes.includes(PROVIDER_KEY)).toBe(false);
    });
  });
}
