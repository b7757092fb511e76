import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadServerConfig } from "../../src/config.ts";
import { UserError } from "../../src/errors.ts";
import { createRouter } from "../../src/routing/router.ts";
import { Prices, costNanoUsd } from "../../src/usage/pricing.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const load = (toml: string, env: Record<string, string> = { OPENAI_API_KEY: "sk-unit" }) => loadServerConfig({ config: write(`c${Math.random()}.toml`, toml) }, env);
const problems = (toml: string, env: Record<string, string> = {}) => {
  try {
    load(toml, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error("expected the config to be refused");
};

describe("config file", () => {
  test("providers, api_key_env and prices are read; without providers the OpenAI default applies", () => {
    const c = load(
      `[[providers]]\nname = "local"\nbase_url = "http://127.0.0.1:11434/v1/"\napi_key_env = "LOCAL_KEY"\nmodels = ["llama*"]\n\n[models."llama3.1"]\ninput_cost_per_token = 0.0000002\noutput_cost_per_token = 0.0000006\n`,
      { LOCAL_KEY: "local-secret" },
    );
    expect(c.providers).toEqual([{ name: "local", type: "openai", baseUrl: "http://127.0.0.1:11434/v1", apiKey: "local-secret", models: ["llama*"], endpoints: ["chat", "responses", "embeddings", "messages"], maxRetries: 2, retryMaxWaitMs: 10_000 }]);
    expect(c.prices.find(["llama3.1"])).toMatchObject({ inputPico: 200_000, outputPico: 600_000, cachedInputPico: 200_000, cacheWritePico: 200_000, source: "config [models]" });
    const d = loadServerConfig({}, { OPENAI_API_KEY: "k" });
    expect(d.providers).toEqual([{ name: "openai", type: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "k", models: ["*"], endpoints: ["chat", "responses", "embeddings", "messages"], maxRetries: 2, retryMaxWaitMs: 10_000 }]);
  });

  test("every mistake is reported with its path", () => {
    const msg = problems(`max_body_bytes = "big"\nbogus = 1\n[[providers]]\nname = "a b"\nbase_url = "ftp://x"\nmodels = []\n[models."m"]\ninput_cost_per_token = -1\noutput_cost_per_token = 0\n`);
    expect(msg).toContain("providers[0].name");
    expect(msg).toContain("providers[0].base_url");
    expect(msg).toContain("providers[0].models");
    expect(msg).toContain("models.m.input_cost_per_token");
    expect(msg).toContain("max_body_bytes");
    expect(msg.split("\n").length).toBeGreaterThan(4);
    expect(problems(`[[providers]]\nname = "x"\nbase_url = "http://a"\nmodels = ["*"]\napi_key_env = "NOPE"\n`)).toContain(
      "providers[0].api_key_env: environment variable NOPE is not set",
    );
    expect(problems(`this is = not toml =`)).toContain("not valid TOML");
    expect(problems(`[[providers]]\nname = "x"\nbase_url = "http://a"\nmodels = ["*"]\n[[providers]]\nname = "x"\nbase_url = "http://b"\nmodels = ["*"]\n`)).toContain(
      "duplicate provider name 'x'",
    );
  });

  test("pricing_file in LiteLLM's format is loaded relative to the config file; [models] override it", () => {
    write(
      "litellm.json",
      JSON.stringify({
        sample_spec: { input_cost_per_token: 0, output_cost_per_token: 0 },
        "my-model": { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, cache_read_input_token_cost: 1e-7, litellm_provider: "openai", mode: "chat" },
        "gpt-4o": { input_cost_per_token: 5e-6, output_cost_per_token: 15e-6 },
        "image-model": { output_cost_per_image: 0.04 },
      }),
    );
    const c = load(`pricing_file = "litellm.json"\n[models."gpt-4o"]\ninput_cost_per_token = 0.000001\noutput_cost_per_token = 0.000002\n`);
    expect(c.prices.find(["my-model"])).toMatchObject({ inputPico: 1_000_000, outputPico: 2_000_000, cachedInputPico: 100_000, cacheWritePico: 1_000_000, source: "pricing_file" });
    expect(c.prices.find(["gpt-4o"])).toMatchObject({ inputPico: 1_000_000, outputPico: 2_000_000, cachedInputPico: 1_000_000, cacheWritePico: 1_000_000, source: "config [models]" });
    // pricing_file's price beats the catalog's for the dated name too
    expect(c.prices.find(["gpt-4o-2024-08-06"])?.source).toBe("config [models]");
    expect(c.prices.find(["image-model"])).toBeUndefined();
    expect(c.prices.overridden().sort()).toEqual(["gpt-4o", "my-model"]);
  });
});

describe("provider types and routes", () => {
  const provider = (name: string, extra = "") => `[[providers]]\nname = "${name}"\nbase_url = "http://127.0.0.1:9/v1"\napi_key_required = false\nmodels = ["*"]\n${extra}\n`;
  test("an anthropic provider serves chat and messages by default; an endpoint its type cannot serve is refused with its path", () => {
    const c = load(provider("claude", `type = "anthropic"`));
    expect(c.providers[0]).toMatchObject({ type: "anthropic", endpoints: ["messages", "chat"] });
    expect(problems(provider("claude", `type = "anthropic"\nendpoints = ["chat", "embeddings"]`))).toContain("providers[0].endpoints: a provider of type 'anthropic' cannot serve 'embeddings' (it serves messages, chat)");
    expect(problems(provider("x", `type = "vertex"`))).toContain("providers[0].type");
  });
  test("azure, gemini and bedrock: their own settings, defaults, and clear refusals", () => {
    const keyless = (name: string, extra: string) => `[[providers]]\nname = "${name}"\napi_key_env = "K"\nmodels = ["*"]\n${extra}\n`;
    const env = { K: "secret", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalr", AWS_REGION: "eu-west-1" };
    const az = loadServerConfig({ config: write("az.toml", keyless("az", `type = "azure"\nbase_url = "https://r.openai.azure.com/"\napi_version = "2024-10-21"\ndeployments = { "gpt-4o" = "my-4o" }`)) }, env);
    expect(az.providers[0]).toMatchObject({ type: "azure", baseUrl: "https://r.openai.azure.com", apiKey: "secret", apiVersion: "2024-10-21", deployments: { "gpt-4o": "my-4o" }, endpoints: ["chat", "responses", "embeddings", "messages"] });
    const gm = loadServerConfig({ config: write("gm.toml", keyless("gm", `type = "gemini"`)) }, env);
    expect(gm.providers[0]).toMatchObject({ baseUrl: "https://generativelanguage.googleapis.com/v1beta", endpoints: ["chat", "messages", "embeddings"] });
    const br = loadServerConfig({ config: write("br.toml", `[[providers]]\nname = "br"\ntype = "bedrock"\nmodels = ["*"]\n`) }, env);
    expect(br.providers[0]).toMatchObject({ baseUrl: "https://bedrock-runtime.eu-west-1.amazonaws.com", aws: { region: "eu-west-1", accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalr" }, endpoints: ["chat", "messages"] });
    expect(problems(keyless("az", `type = "azure"\nbase_url = "https://r.openai.azure.com"`), env)).toContain('providers[0].api_version: an azure provider needs its API version');
    expect(problems(keyless("az", `type = "azure"\napi_version = "v1"`), env)).toContain("providers[0].base_url: a provider of type 'azure' needs its base URL");
    expect(problems(keyless("o", `base_url = "http://x"\napi_version = "v1"`), env)).toContain("providers[0].api_version: only a provider of type 'azure' takes it");
    expect(problems(keyless("o", `base_url = "http://x"\nregion = "us-east-1"`), env)).toContain("providers[0].region: only a provider of type 'bedrock' takes it");
    expect(problems(`[[providers]]\nname = "br"\ntype = "bedrock"\nmodels = ["*"]\n`, { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKID" })).toContain("AWS credentials are not set: environment variables AWS_SECRET_ACCESS_KEY");
    expect(problems(`[[providers]]\nname = "br"\ntype = "bedrock"\nmodels = ["*"]\n`, { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s" })).toContain("providers[0].region: a bedrock provider needs its AWS region");
    expect(problems(keyless("br", `type = "bedrock"\nregion = "us-east-1"`), env)).toContain("providers[0].api_key_env: a bedrock provider signs its requests with AWS credentials");
    expect(problems(keyless("gm", `type = "gemini"\nendpoints = ["responses"]`), env)).toContain("a provider of type 'gemini' cannot serve 'responses' (it serves chat, messages, embeddings)");
  });
  test("without a config file, ANTHROPIC_API_KEY adds Anthropic's API for claude-* ahead of the OpenAI catch-all", () => {
    const c = loadServerConfig({}, { OPENAI_API_KEY: "sk-o", ANTHROPIC_API_KEY: "sk-a" });
    expect(c.providers.map((p) => [p.name, p.type, p.models, p.endpoints])).toEqual([
      ["anthropic", "anthropic", ["claude-*"], ["chat", "messages"]],
      ["openai", "openai", ["*"], ["chat", "responses", "embeddings", "messages"]],
    ]);
    expect(c.providers[0]!.apiKey).toBe("sk-a");
  });
  test("a route naming an unknown provider is refused with its path; weights default to 1", () => {
    expect(problems(`${provider("a")}[[routes]]\nmodels = ["gpt-*"]\nproviders = ["a"]\nfallbacks = ["nope"]\n`)).toContain("routes[0].fallbacks[0]: unknown provider 'nope' (providers: a)");
    expect(problems(`${provider("a")}[[routes]]\nmodels = ["gpt-*"]\nproviders = [{ name = "a", weight = 0 }]\n`)).toContain("routes[0].providers[0]");
    const c = load(`${provider("a")}${provider("b")}[[routes]]\nmodels = ["gpt-*"]\nproviders = ["a", { name = "b", weight = 2.5 }]\n`);
    expect(c.routes).toEqual([{ models: ["gpt-*"], providers: [{ name: "a", weight: 1 }, { name: "b", weight: 2.5 }], fallbacks: [] }]);
  });
  test("the router: weighted first choice, then the others, then fallbacks; a provider in cooldown goes last until it ends", () => {
    const p = (name: string) => ({ name, type: "openai" as const, baseUrl: "http://x", apiKey: undefined, models: ["*"], endpoints: ["chat" as const], maxRetries: 0, retryMaxWaitMs: 0 });
    let now = 0;
    let draw = 0.1;
    const router = createRouter([p("a"), p("b"), p("c")], {
      routes: [{ models: ["m*"], providers: [{ name: "a", weight: 3 }, { name: "b", weight: 1 }], fallbacks: ["c"] }],
      cooldown: { failures: 2, ms: 1000 },
      random: () => draw,
      clock: () => now,
    });
    const names = () => router.candidates("m1").map((r) => r.provider.name);
    expect(names()).toEqual(["a", "b", "c"]);
    draw = 0.9; // beyond a's 3/4 of the weight
    expect(names()).toEqual(["b", "a", "c"]);
    draw = 0.1;
    router.failed("a");
    expect(names()).toEqual(["a", "b", "c"]); // one failure is not a cooldown
    router.failed("a");
    expect(names()).toEqual(["b", "c", "a"]);
    now = 1001;
    expect(names()).toEqual(["a", "b", "c"]);
    expect(router.primary("m1")?.name).toBe("a");
    expect(router.candidates("other")).toEqual([{ provider: p("a"), upstreamModel: "other" }]);
  });
});

describe("pricing", () => {
  const table = new Prices();
  const findPrice = (t: Prices, ...models: string[]) => t.find(models);
  test("costs are exact integer nano-dollars, cached tokens at the cache price", () => {
    const gpt4o = findPrice(table, "gpt-4o-2024-08-06")!;
    expect(costNanoUsd(gpt4o, { promptTokens: 1200, completionTokens: 300, cachedTokens: 200 })).toBe(5_750_000);
    // 1M prompt tokens of gpt-4o-mini at $0.15/1M is exactly 150,000,000 nano-dollars
    expect(costNanoUsd(findPrice(table, "gpt-4o-mini"), { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: null })).toBe(150_000_000);
    expect(costNanoUsd(undefined, { promptTokens: 5, completionTokens: 5, cachedTokens: null })).toBeNull();
  });

  test("cache writes at the cache-creation price, cache reads at the cache-read price, both part of the prompt", () => {
    // claude-sonnet-4: $3 input, $15 output, $0.30 cache read, $3.75 cache write per 1M tokens
    const p = findPrice(table, "claude-sonnet-4-20250514")!;
    // 100 uncached + 1000 read + 2000 written = 3100 prompt tokens, 50 output
    expect(costNanoUsd(p, { promptTokens: 3100, completionTokens: 50, cachedTokens: 1000, cacheWriteTokens: 2000 })).toBe(300_000 + 300_000 + 7_500_000 + 750_000);
    // a price without a cache-write entry charges writes at the input price
    expect(costNanoUsd(findPrice(table, "gpt-4o"), { promptTokens: 100, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 100 })).toBe(250_000);
  });

  test("summing a million requests does not drift", () => {
    const p = findPrice(table, "gpt-4.1-nano")!;
    const one = costNanoUsd(p, { promptTokens: 7, completionTokens: 3, cachedTokens: null })!;
    let sum = 0;
    for (let i = 0; i < 1_000_000; i++) sum += one;
    expect(sum).toBe(one * 1_000_000);
    expect(one).toBe(1900); // 7 * 100 + 3 * 400 nano-dollars
  });

  test("lookup: answered model, then requested, dated names as their model; unknown is undefined", () => {
    expect(findPrice(table, "nonexistent", "gpt-4o")).toBe(findPrice(table, "gpt-4o"));
    expect(findPrice(table, "claude-3-5-sonnet-20241022")?.source).toEndWith("anthropic/claude-3-5-sonnet");
    expect(findPrice(table, "my-own-model")).toBeUndefined();
  });
});

describe("routing", () => {
  const route = createRouter([
    { name: "local", type: "openai" as const, baseUrl: "http://l", apiKey: undefined, models: ["llama*", "qwen?"], endpoints: ["chat"], maxRetries: 0, retryMaxWaitMs: 0 },
    { name: "openai", type: "openai" as const, baseUrl: "http://o", apiKey: undefined, models: ["gpt-*", "llama3.1"], endpoints: ["chat"], maxRetries: 0, retryMaxWaitMs: 0 },
  ]);
  test("first matching provider wins; provider/ prefix selects and is stripped", () => {
    expect(route.candidates("llama3.1")).toMatchObject([{ provider: { name: "local" }, upstreamModel: "llama3.1" }]);
    expect(route.candidates("qwen2")).toMatchObject([{ provider: { name: "local" } }]);
    expect(route.candidates("qwen25")).toEqual([]);
    expect(route.candidates("openai/llama3.1")).toMatchObject([{ provider: { name: "openai" }, upstreamModel: "llama3.1" }]);
    expect(route.candidates("gpt-4o")).toMatchObject([{ provider: { name: "openai" }, upstreamModel: "gpt-4o" }]);
    expect(route.candidates("meta/llama3")).toEqual([]);
    expect(route.candidates("gpt.4")).toEqual([]); // '.' is literal, not a regex wildcard
  });
});
