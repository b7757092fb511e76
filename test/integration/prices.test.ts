// Prices from the embedded catalog, through the compiled binary: what a model resolves to and from where,
// which models in the usage table have none, and the coding agents' and embedding models priced exactly.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway } from "../helpers/gateway.ts";
import { insertUsage } from "../helpers/seed.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

describe("gateway prices", () => {
  test("a model resolves to the catalog's price with its source; [models] wins over it; an unknown model exits 1 with what to do", async () => {
    const toml = `[[providers]]\nname = "local"\nbase_url = "${upstream.url}"\napi_key_required = false\nmodels = ["*"]\n\n[models."gpt-4o-mini"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000002\n`;
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: toml });
    try {
      const cfg = ["--config", `${gw.dir}/gateway.toml`];
      const opus = await gw.cli(["prices", "claude-opus-4-8", "--json", ...cfg]);
      expect(opus.code).toBe(0);
      expect(JSON.parse(opus.stdout)).toEqual([
        { model: "claude-opus-4-8", provider: "local", price: { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25, context: 1_000_000, max_output: null, source: expect.stringMatching(/^@pydantic\/genai-prices \d+\.\d+\.\d+: anthropic\/claude-opus-4-8$/), tiers: [] } },
      ]);
      const listed = await gw.cli(["prices", ...cfg]);
      expect(listed.stdout).toMatch(/gpt-4o-mini\s+local\s+\$1\s+\$2\s.*config \[models\]/);
      expect(listed.stdout).toContain("Every other model is looked up in @pydantic/genai-prices");
      const tiers = await gw.cli(["prices", "claude-sonnet-4-5", ...cfg]);
      expect(tiers.stdout).toContain("claude-sonnet-4-5: prompts over 200000 tokens are priced whole at $6 input, $22.5 output per 1M");
      const none = await gw.cli(["prices", "house-model-7", ...cfg]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain(`error: no price for 'house-model-7'`);
      expect(none.stderr).toContain(`[models."house-model-7"]`);
    } finally {
      await gw.stop();
    }
  });

  test("check lists the models used in the window and exits 1 while one has no price", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    try {
      const { id } = await gw.createKey("seen");
      const row = (n: number, model: string, cost: number | null) => ({ request_id: `r${n}`, key_id: id, model_requested: model, prompt_tokens: 10, completion_tokens: 5, cost_nano_usd: cost, estimated: 0, created_at: Date.now() - 3600_000 });
      insertUsage(gw.dbPath, [row(1, "gpt-5.1-codex", null), row(2, "house-model-7", null), row(3, "house-model-7", null), row(4, "gpt-4o-mini", 4500)]);
      const check = await gw.cli(["prices", "check", "--json"]);
      expect(check.code).toBe(1);
      const out = JSON.parse(check.stdout) as { models: { model: string; requests: number; recorded_unpriced: number; price: unknown }[]; unpriced: string[] };
      expect(out.unpriced).toEqual(["house-model-7"]);
      const byModel = Object.fromEntries(out.models.map((m) => [m.model, m]));
      // Recorded without a cost before the catalog knew it; priced now.
      expect(byModel["gpt-5.1-codex"]).toMatchObject({ requests: 1, recorded_unpriced: 1, price: { input: 1.25, output: 10 } });
      expect(byModel["house-model-7"]).toMatchObject({ requests: 2, recorded_unpriced: 2, price: null });
      expect(check.stderr).toContain("1 model(s) used in the last 30 days have no price: house-model-7");
      expect((await gw.cli(["prices", "check", "--days", "0"])).stderr).toContain("--days must be a whole number of days, 1 or more");
    } finally {
      await gw.stop();
    }
  });
});
