// The relays on recorded event streams, cut at awkward places: what the client receives, what usage the
// row gets, and that the last event waits for the row.
import { describe, expect, test } from "bun:test";
import { createSseRelay } from "../../src/surfaces/chat/relay.ts";
import { RESPONSES_STREAM } from "../../src/surfaces/responses/relay.ts";
import { createTailRelay, type TailOutcome } from "../../src/surfaces/tail-relay.ts";

const enc = new TextEncoder();
/** An upstream that sends `chunks` (then ends, or breaks off with an error). */
function upstream(chunks: string[], breakOff = false): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(enc.encode(chunks[i++]!));
      else if (breakOff) c.error(new Error("connection reset"));
      else c.close();
    },
  });
}
/** A recorded stream cut into pieces of `size` bytes, so events and even "\r\n" fall across chunks. */
const cut = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const CHAT_EVENTS = [
  `data: {"id":"c1","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hel"}}]}\r\n\r\n`,
  `data: {"id":"c1","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n`,
  `data: {"id":"c1","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\n\n`,
  "data: [DONE]\n\n",
];
const CHAT = CHAT_EVENTS.join("");

describe("the chat relay", () => {
  for (const size of [7, 64, 4096]) {
    test(`chunks of ${size} bytes: the usage chunk the gateway asked for is hidden, its usage recorded, [DONE] only after the row`, async () => {
      const order: string[] = [];
      let outcome: TailOutcome | undefined;
      const body = createSseRelay({
        upstream: upstream(cut(CHAT, size)),
        hideUsage: true,
        abortUpstream: () => {},
        upstreamErrorMessage: () => "broke",
        onEnd: async (o) => {
          outcome = o;
          order.push("row");
        },
      });
      const text = await new Response(body).text();
      order.push("client saw the end");
      expect(text).not.toContain('"usage"');
      expect(text).toContain('"content":"Hel"');
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(outcome).toMatchObject({ end: "done", modelAnswered: "gpt-4o-2024-08-06", usage: { promptTokens: 9, completionTokens: 2 } });
      expect(order).toEqual(["row", "client saw the end"]);
    });
  }

  test("an upstream that breaks off: an error event instead of [DONE], the streamed text kept for the estimate", async () => {
    let outcome: TailOutcome | undefined;
    const text = await new Response(
      createSseRelay({ upstream: upstream(CHAT_EVENTS.slice(0, 2), true), hideUsage: false, abortUpstream: () => {}, upstreamErrorMessage: () => "The upstream broke off.", onEnd: async (o) => void (outcome = o) }),
    ).text();
    expect(text).toContain("The upstream broke off.");
    expect(text).not.toContain("[DONE]");
    expect(outcome).toMatchObject({ end: "upstream_error", usage: undefined, text: "Hello" });
  });
});

describe("the tail relay (Responses API)", () => {
  const done = { id: "resp_1", model: "gpt-5.1-codex", status: "completed", output: [{ type: "message", id: "msg_1" }], usage: { input_tokens: 40, output_tokens: 12 } };
  const events = [
    `event: response.created\ndata: ${JSON.stringify({ type: "response.created", response: { ...done, status: "in_progress", usage: null } })}\n\n`,
    `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: "Hi" })}\n\n`,
    `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: done })}\n\n`,
  ].join("");
  for (const size of [5, 4096]) {
    test(`chunks of ${size} bytes: the terminal event waits for the row; usage, id and item ids read from it`, async () => {
      let outcome: TailOutcome | undefined;
      let sentBeforeRow = "";
      const chunks: string[] = [];
      const relay = createTailRelay({
        upstream: upstream(cut(events, size)),
        format: RESPONSES_STREAM,
        abortUpstream: () => {},
        upstreamErrorMessage: () => "broke",
        onEnd: async (o) => {
          outcome = o;
          sentBeforeRow = chunks.join("");
        },
      });
      const dec = new TextDecoder();
      for await (const c of relay) chunks.push(dec.decode(c));
      expect(sentBeforeRow).not.toContain("response.completed");
      expect(chunks.join("")).toBe(events);
      expect(outcome).toMatchObject({ end: "done", responseId: "resp_1", itemIds: ["msg_1"], modelAnswered: "gpt-5.1-codex", usage: { promptTokens: 40, completionTokens: 12 } });
    });
  }
});
