// Property-based tests: random input never throws anything but the gateway's own OpenAI-shaped errors.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ApiError } from "../../src/errors.ts";
import { parseChatRequest } from "../../src/surfaces/chat/request.ts";
import { chatBody } from "../../src/upstreams/openai.ts";
import { readUsage } from "../../src/surfaces/openai-usage.ts";
import { createChatRelay } from "../../src/surfaces/chat/relay.ts";
import type { RelayOutcome } from "../../src/surfaces/relay.ts";
import { parseTimeRange } from "../../src/usage/time-range.ts";

function onlyApiErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
  }
}

describe("request parser", () => {
  test("arbitrary text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => onlyApiErrors(() => parseChatRequest(s))), { numRuns: 2000 });
  });
  test("arbitrary JSON values", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => onlyApiErrors(() => parseChatRequest(JSON.stringify(v)))), { numRuns: 2000 });
  });
  test("near-valid requests with random field values; whatever passes is forwarded as valid JSON with the routed model", () => {
    const record = fc.record(
      {
        model: fc.oneof(fc.string(), fc.constant("gpt-4o"), fc.jsonValue()),
        messages: fc.oneof(fc.array(fc.record({ role: fc.oneof(fc.constantFrom("user", "system"), fc.jsonValue()), content: fc.jsonValue() })), fc.jsonValue()),
        stream: fc.oneof(fc.boolean(), fc.jsonValue()),
        stream_options: fc.oneof(fc.record({ include_usage: fc.jsonValue() }), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, (r) => {
        const text = JSON.stringify(r);
        let parsed;
        try {
          parsed = parseChatRequest(text);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          return;
        }
        const ctx = { text, body: parsed.body, upstreamModel: "routed-model", provider: { name: "p", type: "openai" as const, baseUrl: "http://x", apiKey: undefined, models: ["*"], endpoints: [], maxRetries: 0, retryMaxWaitMs: 0 }, sameModel: false, stream: parsed.stream, wantsUsage: parsed.wantsUsage, maxOutputTokens: () => 0, outputLimit: () => undefined, customerHeaders: new Headers() };
        const sent = JSON.parse(chatBody(ctx)) as Record<string, unknown>;
        expect(sent.model).toBe("routed-model");
        if (parsed.stream) expect((sent.stream_options as { include_usage: boolean }).include_usage).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
  test("usage objects of any shape", () => {
    fc.assert(fc.property(fc.anything(), (v) => void readUsage(v)), { numRuns: 2000 });
  });
  test("report dates", () => {
    fc.assert(fc.property(fc.option(fc.string()), fc.option(fc.string()), (a, b) => onlyApiErrors(() => parseTimeRange(a ?? undefined, b ?? undefined))), { numRuns: 2000 });
  });
});

describe("SSE usage parser", () => {
  const enc = new TextEncoder();
  async function relay(chunks: Uint8Array[], hideUsage: boolean) {
    const outcomes: RelayOutcome[] = [];
    const text = await new Response(
      createChatRelay({
        upstream: new ReadableStream({
          start(c) {
            for (const ch of chunks) c.enqueue(ch);
            c.close();
          },
        }),
        hideUsage,
        onEnd: async (o) => void outcomes.push(o),
        abortUpstream: () => {},
        upstreamErrorMessage: () => "broken",
      }),
    ).text();
    return { text, outcomes };
  }
  const event = fc.oneof(
    fc.constant('data: {"model":"m","choices":[{"delta":{"content":"hi"}}]}\n\n'),
    fc.constant('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'),
    fc.constant("data: [DONE]\n\n"),
    fc.constant(": keep-alive comment\n\n"),
    fc.string().map((s) => `data: ${s}\n\n`),
    fc.string({ unit: "binary" }),
  );
  test("any stream, split anywhere: never throws, ends exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 12 }), fc.array(fc.nat(200), { maxLength: 6 }), fc.boolean(), async (events, cuts, hide) => {
        const bytes = enc.encode(events.join(""));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let last = 0;
        for (const p of [...points, bytes.length]) {
          if (p > last) chunks.push(bytes.slice(last, p));
          last = p;
        }
        const { outcomes } = await relay(chunks, hide);
        expect(outcomes).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
  });
});
