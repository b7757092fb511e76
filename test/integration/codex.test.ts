// Codex (the real @openai/codex CLI) on a budgeted gateway key: it offers web search and a namespace of
// sub-agent tools on every request, streams the Responses API, and gets exact cost rows.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runCodex } from "../helpers/codex.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(180_000);

// Codex 0.171's default model is newer than the newest catalog release: the operator prices it in [models]
// (`gateway prices check` lists such models). $2 / $16 per 1M tokens, $0.20 cached, for this test.
const DEFAULT_MODEL = "gpt-6.2-sol";
const upstream = startFakeUpstream();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: `[[providers]]\nname = "oai"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["*"]\n\n[models."${DEFAULT_MODEL}"]\ninput_cost_per_token = 0.000002\noutput_cost_per_token = 0.000016\ncache_read_input_token_cost = 0.0000002\n`,
  });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

// The fake's Responses usage: 40 input tokens (10 cached), 12 output.
const cost = (inputPico: number, cachedPico: number, outputPico: number) => (30 * inputPico + 10 * cachedPico + 12 * outputPico) / 1000;

describe("Codex on a gateway key with a budget", () => {
  test("its default model and gpt-5.1-codex (priced by the catalog) answer, with exact cost rows; its web search is capped on the wire", async () => {
    const { key, id } = await gw.createKey("dev-carol", 100, ["--budget", "5"]);
    const run = await runCodex("Say hello", { baseUrl: gw.url, key });
    expect(run.events.find((e) => e.item?.type === "agent_message")?.item?.text).toBe("Hello from responses.");
    expect(run.events.at(-1)?.type).toBe("turn.completed");
    expect(run.code).toBe(0);
    expect(upstream.received.at(-1)!.body.model).toBe(DEFAULT_MODEL);
    expect(gw.rows().filter((r) => r.key_id === id).at(-1)).toMatchObject({ model_requested: DEFAULT_MODEL, prompt_tokens: 40, cached_tokens: 10, completion_tokens: 12, cost_nano_usd: cost(2_000_000, 200_000, 16_000_000) });

    const codex = await runCodex("Say hello", { baseUrl: gw.url, key, model: "gpt-5.1-codex" });
    expect(codex.code).toBe(0);
    // For this model Codex offers web search and a namespace of sub-agent function tools.
    const sent = upstream.received.at(-1)!.body;
    expect((sent.tools as { type: string }[]).map((t) => t.type)).toEqual(expect.arrayContaining(["function", "namespace", "web_search"]));
    expect(sent.max_tool_calls).toBe(3);
    // gpt-5.1-codex: $1.25 input, $0.125 cached, $10 output per 1M tokens (@pydantic/genai-prices).
    expect(gw.rows().filter((r) => r.key_id === id).at(-1)).toMatchObject({ model_requested: "gpt-5.1-codex", cost_nano_usd: cost(1_250_000, 125_000, 10_000_000) });
  });

  test("a spent budget stops Codex at once (insufficient_quota); a wrong key is refused with x-should-retry: false, which Codex does not honour", async () => {
    const { key } = await gw.createKey("dev-dave", 100, ["--budget", "0.001"]);
    const before = upstream.received.length;
    const broke = await runCodex("Say hello", { baseUrl: gw.url, key });
    expect(broke.events.at(-1)).toMatchObject({ type: "turn.failed", error: { message: "Quota exceeded. Check your plan and billing details." } });
    expect(broke.events.filter((e) => e.type === "error" && e.message?.startsWith("Reconnecting"))).toEqual([]);
    expect(upstream.received.length).toBe(before);

    const wrong = await runCodex("Say hello", { baseUrl: gw.url, key: "gw-not-a-key-0000000000000000000000" });
    expect(wrong.events.at(-1)?.type).toBe("turn.failed");
    expect(wrong.events.at(-1)?.error?.message).toContain("401 Unauthorized: Incorrect API key provided");
    // Codex 0.171 retries a 401 five times whatever the headers say (~1 s apart): bounded, and nothing forwarded.
    expect(wrong.ms).toBeLessThan(30_000);
    expect(upstream.received.length).toBe(before);
  });
});
