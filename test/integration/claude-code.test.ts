// The README's headline use: Claude Code with one gateway key per developer and its own budget. The real
// @anthropic-ai/claude-code CLI against the compiled binary, with a fake Anthropic upstream.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runClaude } from "../helpers/claude-code.ts";
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(180_000);

const claude = startFakeAnthropic();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: "http://127.0.0.1:9/v1",
    env: { FAKE_KEY: PROVIDER_KEY },
    configToml: `[[providers]]\nname = "claude"\ntype = "anthropic"\nbase_url = "${claude.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["claude-*"]\n`,
  });
});
afterAll(async () => {
  await gw.stop();
  await claude.stop();
});

/** The access log's /v1/messages lines after character `from`, once `count` are there (the log is written asynchronously). */
async function messagesLines(from: number, keyName: string | undefined, count = 1) {
  const deadline = Date.now() + 5000;
  // Only this key's lines (a wrong key's have none): the previous test's last line may still be on its way.
  const mine = () => linesAfter(from).filter((l) => l.key_name === keyName);
  let lines = mine();
  while (lines.length < count && Date.now() < deadline) {
    await Bun.sleep(20);
    lines = mine();
  }
  return lines;
}

const linesAfter = (from: number) =>
  gw
    .logs()
    .slice(from)
    .split("\n")
    .filter((l) => l.includes('"path":"/v1/messages"'))
    .map((l) => JSON.parse(l) as { status: number; error?: string; key_name?: string });

describe("Claude Code on a gateway key", () => {
  test("a budgeted key runs Claude Code's default model: every row has a cost, and they sum to what Claude Code itself computes", async () => {
    const { key, id } = await gw.createKey("dev-alice", 100, ["--budget", "5"]);
    const run = await runClaude("Say hello", { baseUrl: gw.url, key });
    expect(run.result.is_error).toBe(false);
    expect(run.result.result).toBe("Hello from Claude ✓");
    expect(run.code).toBe(0);
    const rows = gw.rows().filter((r) => r.key_id === id);
    expect(rows.length).toBeGreaterThan(0);
    const [model] = Object.keys(run.result.modelUsage);
    for (const r of rows) {
      expect(r).toMatchObject({ model_requested: model, upstream_status: 200, estimated: 0, cached_tokens: 400, prompt_tokens: 530, completion_tokens: 12 });
      expect(r.cost_nano_usd).toEqual(expect.any(Number));
      expect(r.cost_nano_usd as number).toBeGreaterThan(0);
    }
    // Claude Code prices its own usage with Anthropic's list prices: the gateway's rows agree to the nano-dollar.
    const total = rows.reduce((s, r) => s + (r.cost_nano_usd as number), 0);
    expect(total).toBe(Math.round(run.result.total_cost_usd * 1e9));
    const view = (await (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).json()) as { spent_usd: string };
    expect(Math.round(Number(view.spent_usd) * 1e9)).toBe(total);
  });

  test("a wrong key: Claude Code stops at the first 401 (x-should-retry: false), within seconds", async () => {
    const before = gw.logs().length;
    const run = await runClaude("Say hello", { baseUrl: gw.url, key: "gw-not-a-key-0000000000000000000000" });
    expect(run.result).toMatchObject({ is_error: true, api_error_status: 401 });
    expect(run.result.result).toContain("Incorrect API key provided");
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(15_000);
    expect((await messagesLines(before, undefined)).map((l) => l.status)).toEqual([401]);
  });

  test("a budget too small for Claude Code's output cap: one 429 that says what to lower; lowered, the same key works", async () => {
    const { key, id } = await gw.createKey("dev-bob", 100, ["--budget", "1"]);
    const before = gw.logs().length;
    const refused = await runClaude("Say hello", { baseUrl: gw.url, key });
    expect(refused.result).toMatchObject({ is_error: true });
    expect(refused.result.result).toContain("429");
    expect(refused.result.result).toContain("CLAUDE_CODE_MAX_OUTPUT_TOKENS");
    expect((await messagesLines(before, "dev-bob")).map((l) => [l.status, l.error])).toEqual([[429, "insufficient_quota"]]);
    const lowered = await runClaude("Say hello", { baseUrl: gw.url, key, env: { CLAUDE_CODE_MAX_OUTPUT_TOKENS: "8000" } });
    expect(lowered.result.result).toBe("Hello from Claude ✓");
    expect(claude.received.at(-1)!.body.max_tokens).toBe(8000);
    const rows = gw.rows().filter((r) => r.key_id === id);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => typeof r.cost_nano_usd === "number")).toBe(true);
  });
});
