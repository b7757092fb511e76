// POST /v1/embeddings through the compiled binary with the openai SDK: content, the row, its exact cost,
// limits and errors like every other route.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    // $0.02 per million tokens: 8 tokens cost 160 nano-dollars.
    configToml: `[[providers]]\nname = "fake"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["text-embedding-*", "gpt-*"]\n\n[[providers]]\nname = "chatonly"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["chat-only-*"]\nendpoints = ["chat"]\n\n[models."text-embedding-test"]\ninput_cost_per_token = 0.00000002\noutput_cost_per_token = 0\n`,
  });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

describe("POST /v1/embeddings", () => {
  test("the openai SDK's embeddings.create: vectors as the provider sent them, one row with prompt tokens at the input price", async () => {
    const { id, key } = await gw.createKey("embedder");
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const one = await client.embeddings.create({ model: "text-embedding-test", input: "The food was delicious.", encoding_format: "float" });
    expect(one.data).toEqual([{ object: "embedding", index: 0, embedding: [0.25, -0.5, 0.125] }]);
    expect(one.usage).toEqual({ prompt_tokens: 8, total_tokens: 8 });
    const two = await client.embeddings.create({ model: "fake/text-embedding-test", input: ["a", "b"], encoding_format: "float" });
    expect(two.data).toHaveLength(2);
    expect(upstream.received.at(-1)).toMatchObject({ path: "/v1/embeddings", body: { model: "text-embedding-test", input: ["a", "b"] } });
    expect(upstream.received.at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    const rows = gw.rows().filter((r) => r.key_id === id);
    expect(rows.map((r) => [r.model_requested, r.model_answered, r.prompt_tokens, r.completion_tokens, r.cost_nano_usd, r.estimated, r.streamed])).toEqual([
      ["text-embedding-test", "text-embedding-test-v1", 8, 0, 160, 0, 0],
      ["fake/text-embedding-test", "text-embedding-test-v1", 16, 0, 320, 0, 0],
    ]);
  });

  test("bad input, unknown models, keys and allow-lists answer like every other route, and nothing is forwarded", async () => {
    const { key } = await gw.createKey("embed-limits", 1000, ["--models", "text-embedding-*"]);
    const before = upstream.received.length;
    const post = (body: unknown, auth = key) =>
      fetch(`${gw.url}/v1/embeddings`, { method: "POST", headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const cases: [unknown, string, number, string][] = [
      [{ model: "text-embedding-test" }, key, 400, "missing_required_parameter"],
      [{ model: "text-embedding-test", input: {} }, key, 400, "invalid_type"],
      [{ input: "x" }, key, 400, "missing_required_parameter"],
      [{ model: "nobody-serves-this", input: "x" }, key, 404, "model_not_found"],
      [{ model: "gpt-4o", input: "x" }, key, 403, "model_not_allowed"],
      [{ model: "chat-only-model", input: "x" }, key, 404, "endpoint_not_supported"],
      [{ model: "text-embedding-test", input: "x" }, "wrong-key-123456", 401, "invalid_api_key"],
    ];
    for (const [body, auth, status, code] of cases) {
      const res = await post(body, auth);
      expect({ body, status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ body, status, code });
    }
    expect(upstream.received.length).toBe(before);
  });

  test("an upstream error keeps its status and shape; the provider refusing the operator's key is a 502", async () => {
    const { key } = await gw.createKey("embed-errors");
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    upstream.setHandler(() => Response.json({ error: { message: "input too long", type: "invalid_request_error", param: "input", code: null } }, { status: 400 }));
    const bad = await client.embeddings.create({ model: "text-embedding-test", input: "x" }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("input too long");
    upstream.setHandler(() => Response.json({ error: { message: `bad key ${PROVIDER_KEY}` } }, { status: 401 }));
    const refused = await fetch(`${gw.url}/v1/embeddings`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "text-embedding-test", input: "x" }) });
    expect(refused.status).toBe(502);
    const text = await refused.text();
    expect(text).toContain("upstream_auth_failed");
    expect(text).not.toContain(PROVIDER_KEY);
    upstream.reset();
  });
});
