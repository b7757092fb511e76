import { describe, expect, test } from "bun:test";
import { createFixedWindowLimiter, rateLimitHeaders } from "../../src/limits/fixed-window.ts";
import { createChatRelay } from "../../src/surfaces/chat/relay.ts";
import type { RelayOutcome } from "../../src/surfaces/relay.ts";

describe("fixed-window limiter", () => {
  test("windows align to the clock minute and the limit is read per call", () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 50); // 10 s before the minute ends
    const take = createFixedWindowLimiter(() => now);
    expect(take("k", 2)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 10_000 });
    expect(take("k", 2).allowed).toBe(true);
    const refused = take("k", 2);
    expect(refused).toEqual({ allowed: false, limit: 2, remaining: 0, resetMs: 10_000 });
    expect(rateLimitHeaders(refused)).toEqual({
      "x-ratelimit-limit-requests": "2",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "10s",
    });
    expect(take("k", 3).allowed).toBe(true); // raised limit applies at once
    expect(take("other", 1).allowed).toBe(true); // keys are independent
    now += 10_000; // new minute
    expect(take("k", 2)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 });
  });
});

describe("SSE relay", () => {
  const enc = new TextEncoder();
  function upstreamOf(pieces: string[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(c) {
        for (const p of pieces) c.enqueue(enc.encode(p));
        c.close();
      },
    });
  }
  async function relay(pieces: string[], hideUsage: boolean) {
    const outcomes: RelayOutcome[] = [];
    const out = await new Response(
      createChatRelay({
        upstream: upstreamOf(pieces),
        hideUsage,
        onEnd: async (o) => void outcomes.push(o),
        abortUpstream: () => {},
        upstreamErrorMessage: () => "broken",
      }),
    ).text();
    return { out, outcomes };
  }
  const chunk = `data: {"model":"m-1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n`;
  const usage = `data: {"model":"m-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n`;

  test("a usage event split across network chunks is still found, and hidden when the customer did not ask", async () => {
    const whole = chunk + usage + "data: [DONE]\n\n";
    const split = [whole.slice(0, 10), whole.slice(10, chunk.length + 20), whole.slice(chunk.length + 20, whole.length - 3), whole.slice(-3)];
    const hidden = await relay(split, true);
    expect(hidden.out).toBe(chunk + "data: [DONE]\n\n");
    expect(hidden.outcomes).toEqual([
      { usage: { promptTokens: 3, completionTokens: 1, cachedTokens: null, reasoningTokens: null }, modelAnswered: "m-1", text: "", end: "done", bytesOut: chunk.length },
    ]);
    const shown = await relay(split, false);
    expect(shown.out).toBe(whole);
  });

  test("a whole stream in one network chunk: content passes untouched, usage is found and hidden, the model is read from the first event", async () => {
    const content = [1, 2, 3].map((i) => chunk.replace("Hi", `Hi${i} \\"usage\\" talk`)).join("");
    for (const sep of ["\n\n", "\r\n\r\n"]) {
      const events = (content + usage).replaceAll("\n\n", sep) + `data: [DONE]${sep}`;
      const hidden = await relay([events], true);
      expect(hidden.out).toBe(content.replaceAll("\n\n", sep) + `data: [DONE]${sep}`);
      expect(hidden.outcomes[0]).toMatchObject({ usage: { promptTokens: 3 }, modelAnswered: "m-1", end: "done" });
      const noUsage = await relay([content.replaceAll("\n\n", sep) + `data: [DONE]${sep}`], true);
      expect(noUsage.outcomes[0]).toMatchObject({ usage: undefined, modelAnswered: "m-1", text: 'Hi1 "usage" talkHi2 "usage" talkHi3 "usage" talk' });
    }
  });

  test("CRLF-separated events and an upstream that ends without [DONE]", async () => {
    const crlf = chunk.replace("\n\n", "\r\n\r\n");
    const { out, outcomes } = await relay([crlf], true);
    expect(out.startsWith(crlf)).toBe(true);
    expect(out).toContain('"code":"upstream_error"');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ usage: undefined, text: "Hi", end: "upstream_error" });
  });
});
