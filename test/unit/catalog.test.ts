import { describe, expect, test } from "bun:test";
import { worstCostNano } from "../../src/admission/bound.ts";
import { CATALOG_VERSION } from "../../src/usage/catalog.ts";
import { Prices, costNanoUsd } from "../../src/usage/pricing.ts";
import type { ProviderType } from "../../src/upstreams/provider-config.ts";

const local = (type: ProviderType) => ({ name: type, type, baseUrl: "http://127.0.0.1:9/v1" });
const prices = new Prices(new Map(), [local("openai"), local("anthropic"), local("azure"), local("gemini"), local("bedrock"), { name: "or", type: "openai" as const, baseUrl: "https://openrouter.ai/api/v1" }]);
const usage = (promptTokens: number, completionTokens: number) => ({ promptTokens, completionTokens, cachedTokens: null });

describe("the embedded catalog", () => {
  test("Bedrock model ids (regional and cross-region), Gemini and Azure names have their provider's prices", () => {
    expect(prices.find(["us.anthropic.claude-sonnet-4-20250514-v1:0"], Date.now(), "bedrock")).toMatchObject({ inputPico: 3_000_000, outputPico: 15_000_000, source: expect.stringContaining("aws/") });
    expect(prices.find(["amazon.nova-pro-v1:0"], Date.now(), "bedrock")).toMatchObject({ inputPico: 800_000, outputPico: 3_200_000, maxInputTokens: 300_000 });
    expect(prices.find(["gemini-2.5-flash"], Date.now(), "gemini")).toMatchObject({ inputPico: 300_000, outputPico: 2_500_000, source: expect.stringContaining("google/") });
    expect(prices.find(["gemini-embedding-001"], Date.now(), "gemini")).toMatchObject({ inputPico: 150_000 });
    expect(prices.find(["gpt-4o"], Date.now(), "azure")).toMatchObject({ inputPico: 2_500_000, source: expect.stringContaining("azure/") });
  });
  test("the coding agents' default models and the README's embedding model have prices", () => {
    expect(prices.find(["claude-opus-4-8"], Date.now(), "anthropic")).toMatchObject({ inputPico: 5_000_000, outputPico: 25_000_000, cachedInputPico: 500_000, cacheWritePico: 6_250_000 });
    expect(prices.find(["claude-opus-4-8-20261101"])?.source).toBe(`@pydantic/genai-prices ${CATALOG_VERSION}: anthropic/claude-opus-4-8`);
    expect(prices.find(["gpt-5.1-codex"], Date.now(), "openai")).toMatchObject({ inputPico: 1_250_000, outputPico: 10_000_000 });
    // An embedding model is known through the upstream type's provider (the name alone matches no provider).
    expect(prices.find(["text-embedding-3-small"], Date.now(), "openai")).toMatchObject({ inputPico: 20_000, outputPico: 0 });
    expect(prices.find(["text-embedding-3-small"], Date.now(), "openai")?.maxInputTokens).toBe(8192);
  });

  test("a provider's own prices when its base URL is known (OpenRouter's names and prices)", () => {
    expect(prices.find(["anthropic/claude-sonnet-4.5"], Date.now(), "or")?.source).toContain(": openrouter/");
    expect(prices.find(["anthropic/claude-sonnet-4.5"], Date.now(), "openai")).toBeUndefined();
  });

  test("long-context tiers price the whole request once the prompt passes the tier; the bound uses the dearest", () => {
    const p = prices.find(["claude-sonnet-4-5"], Date.now(), "anthropic")!;
    expect(costNanoUsd(p, usage(200_000, 1000))).toBe(200_000 * 3000 + 1000 * 15_000);
    expect(costNanoUsd(p, usage(200_001, 1000))).toBe(200_001 * 6000 + 1000 * 22_500);
    // 1-hour cache writes ($6, $12 past 200k) are the dearest prompt token
    expect(p.worst).toEqual({ inputPico: 12_000_000, outputPico: 22_500_000, requestPico: 0 });
    expect(worstCostNano([p], 300_000, 1000)).toBeGreaterThanOrEqual(costNanoUsd(p, usage(300_000, 1000))!);
  });

  test("prices that change with the time of day resolve at the request's time; the bound covers every variant", () => {
    const day = prices.find(["deepseek-chat"], Date.parse("2026-12-06T12:00:00Z"))!;
    const night = prices.find(["deepseek-chat"], Date.parse("2026-12-06T20:00:00Z"))!;
    expect(day.inputPico).not.toBe(night.inputPico);
    expect(day.worst).toEqual(night.worst);
    expect(day.worst.inputPico).toBeGreaterThanOrEqual(Math.max(day.inputPico, night.inputPico));
  });

  test("names are exact: a pattern's match is not a model name (metric labels stay bounded)", () => {
    expect(prices.has("claude-opus-4-8")).toBe(true);
    expect(prices.has("claude-opus-4-8-anything-a-customer-invents")).toBe(false);
    expect(prices.find(["my-own-model"])).toBeUndefined();
  });
});
