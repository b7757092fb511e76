// Each inbound API's usage as the upstream reports it, read into one shape (table-driven, bodies as the
// providers send them): what the row records and what prices are applied to.
import { describe, expect, test } from "bun:test";
import { readAnthropicUsage } from "../../src/surfaces/messages/relay.ts";
import { readUsage } from "../../src/surfaces/openai-usage.ts";
import { readResponsesUsage } from "../../src/surfaces/responses/relay.ts";
import { routeFor, createRouter } from "../../src/routing/router.ts";
import { ApiError } from "../../src/errors.ts";

describe("usage extraction", () => {
  const cases: [string, () => unknown, unknown][] = [
    ["chat: prompt, completion, cached, reasoning", () => readUsage({ prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 200 }, completion_tokens_details: { reasoning_tokens: 40 } }), { promptTokens: 1200, completionTokens: 300, cachedTokens: 200, reasoningTokens: 40 }],
    ["chat: no usage object", () => readUsage(null), undefined],
    ["chat: a usage object without counts", () => readUsage({ total_tokens: 5 }), undefined],
    ["responses: input, output, cached, reasoning", () => readResponsesUsage({ usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 10 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 2 } } }), { promptTokens: 40, completionTokens: 12, cachedTokens: 10, reasoningTokens: 2 }],
    ["responses: a web search is counted from the output items", () => readResponsesUsage({ output: [{ type: "web_search_call" }, { type: "web_search_call" }, { type: "message" }], usage: { input_tokens: 9, output_tokens: 3 } }), { promptTokens: 9, completionTokens: 3, webSearches: 2 }],
    ["responses: counts that are not counts are suspect", () => readResponsesUsage({ usage: { input_tokens: -1, output_tokens: 3 } }), { promptTokens: 0, completionTokens: 0, suspect: expect.any(String) }],
    ["messages: cache reads and writes are part of the prompt", () => readAnthropicUsage({ input_tokens: 30, cache_read_input_tokens: 400, cache_creation_input_tokens: 100, output_tokens: 12 }), { promptTokens: 530, completionTokens: 12, cachedTokens: 400, cacheWriteTokens: 100, reasoningTokens: null }],
    ["messages: server-side web searches", () => readAnthropicUsage({ input_tokens: 7, output_tokens: 1, server_tool_use: { web_search_requests: 3 } }), { promptTokens: 7, webSearches: 3 }],
    ["messages: absent cache fields are zero", () => readAnthropicUsage({ input_tokens: 5, output_tokens: 1 }), { promptTokens: 5, cachedTokens: 0, cacheWriteTokens: 0 }],
  ];
  for (const [name, read, want] of cases) {
    test(name, () => {
      const got = read();
      if (want === undefined) expect(got).toBeUndefined();
      else expect(got).toMatchObject(want as object);
    });
  }
});

describe("routeFor", () => {
  const p = (name: string, models: string[], endpoints: ("chat" | "embeddings" | "messages" | "responses")[]) => ({ name, type: "openai" as const, baseUrl: "http://x", apiKey: undefined, models, endpoints, maxRetries: 0, retryMaxWaitMs: 0 });
  const router = createRouter([p("chat-only", ["gpt-*"], ["chat"]), p("embedder", ["text-embedding-*", "gpt-*"], ["embeddings"])]);
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      return { status: (err as ApiError).status, code: (err as ApiError).code };
    }
    throw new Error("not refused");
  };
  test("the providers that serve the API, in order; 404s that say why", () => {
    expect(routeFor(router, "gpt-4o", "chat").map((r) => r.provider.name)).toEqual(["chat-only"]);
    expect(routeFor(router, "text-embedding-3-small", "embeddings").map((r) => r.provider.name)).toEqual(["embedder"]);
    expect(refusal(() => routeFor(router, "claude-x", "chat"))).toEqual({ status: 404, code: "model_not_found" });
    // Without [[routes]] a model goes to the first provider whose pattern matches; it must serve the API.
    expect(refusal(() => routeFor(router, "gpt-4o", "embeddings"))).toEqual({ status: 404, code: "endpoint_not_supported" });
    expect(refusal(() => routeFor(router, "text-embedding-3-small", "chat"))).toEqual({ status: 404, code: "endpoint_not_supported" });
    expect(routeFor(router, "embedder/gpt-4o", "embeddings")[0]).toMatchObject({ upstreamModel: "gpt-4o" });
    expect(refusal(() => routeFor(router, "chat-only/text-embedding-3-small", "chat"))).toEqual({ status: 404, code: "model_not_found" });
  });
});
