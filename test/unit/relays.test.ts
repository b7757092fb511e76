// The relays on recorded event streams, cut at awkward places: what the client receives, what usage the
// row gets, and that the last event waits for the row.
import { describe, expect, test } from "bun:test";
import { chatStream, createChatRelay } from "../../src/surfaces/chat/relay.ts";
import { messagesStream } from "../../src/surfaces/messages/relay.ts";
import { endsWithEvent, eventEndAfter, eventsEnd } from "../../src/sse.ts";
import { RESPONSES_STREAM } from "../../src/surfaces/responses/relay.ts";
import { createRelay, type RelayOutcome } from "../../src/surfaces/relay.ts";

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
      let outcome: RelayOutcome | undefined;
      const body = createChatRelay({
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
    let outcome: RelayOutcome | undefined;
    const text = await new Response(
      createChatRelay({ upstream: upstream(CHAT_EVENTS.slice(0, 2), true), hideUsage: false, abortUpstream: () => {}, upstreamErrorMessage: () => "The upstream broke off.", onEnd: async (o) => void (outcome = o) }),
    ).text();
    expect(text).toContain("The upstream broke off.");
    expect(text).not.toContain("[DONE]");
    expect(outcome).toMatchObject({ end: "upstream_error", usage: undefined, text: "Hello" });
  });
});

describe("the relay, Responses API format", () => {
  const done = { id: "resp_1", model: "gpt-5.1-codex", status: "completed", output: [{ type: "message", id: "msg_1" }], usage: { input_tokens: 40, output_tokens: 12 } };
  const events = [
    `event: response.created\ndata: ${JSON.stringify({ type: "response.created", response: { ...done, status: "in_progress", usage: null } })}\n\n`,
    `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: "Hi" })}\n\n`,
    `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: done })}\n\n`,
  ].join("");
  for (const size of [5, 4096]) {
    test(`chunks of ${size} bytes: the terminal event waits for the row; usage, id and item ids read from it`, async () => {
      let outcome: RelayOutcome | undefined;
      let sentBeforeRow = "";
      const chunks: string[] = [];
      const relay = createRelay(
        {
          upstream: upstream(cut(events, size)),
          abortUpstream: () => {},
          upstreamErrorMessage: () => "broke",
          onEnd: async (o) => {
            outcome = o;
            sentBeforeRow = chunks.join("");
          },
        },
        RESPONSES_STREAM,
      );
      const dec = new TextDecoder();
      for await (const c of relay) chunks.push(dec.decode(c));
      expect(sentBeforeRow).not.toContain("response.completed");
      expect(chunks.join("")).toBe(events);
      expect(outcome).toMatchObject({ end: "done", responseId: "resp_1", itemIds: ["msg_1"], modelAnswered: "gpt-5.1-codex", usage: { promptTokens: 40, completionTokens: 12 } });
    });
  }
});

describe("the relay core", () => {
  // OpenAI sends "usage":null in every chunk once usage is asked for: those pass as received, never decoded.
  const nullUsage = (i: number) => `data: {"id":"c2","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"w${i}"}}],"usage":null}\n\n`;
  const stream = [0, 1, 2].map(nullUsage).join("") + `data: {"id":"c2","model":"gpt-4o","choices":[],"usage": {"prompt_tokens": 4, "completion_tokens": 3}}\n\ndata: [DONE]\n\n`;
  for (const size of [1, 9, 100, 4096]) {
    test(`chunks of ${size} bytes: "usage":null chunks pass byte for byte, the usage object (spaced JSON) is read and hidden`, async () => {
      const inspected: string[] = [];
      let outcome: RelayOutcome | undefined;
      const format = chatStream(true);
      const spy = { ...format, inspect: (e: string) => (inspected.push(e), format.inspect(e)) };
      const text = await new Response(createRelay({ upstream: upstream(cut(stream, size)), abortUpstream: () => {}, upstreamErrorMessage: () => "broke", onEnd: async (o) => void (outcome = o) }, spy)).text();
      expect(text).toBe([0, 1, 2].map(nullUsage).join("") + "data: [DONE]\n\n");
      expect(inspected).toHaveLength(2);
      expect(outcome).toMatchObject({ end: "done", modelAnswered: "gpt-4o", usage: { promptTokens: 4, completionTokens: 3 }, bytesOut: text.length - "data: [DONE]\n\n".length });
    });
  }

  const message = (type: string, body: object) => `event: ${type}\r\ndata: ${JSON.stringify({ type, ...body })}\r\n\r\n`;
  const anthropic = [
    message("message_start", { message: { id: "msg_1", model: "claude-opus-4-8", usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 5 } } }),
    message("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }),
    message("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 7 } }),
    message("message_stop", {}),
  ].join("");
  for (const size of [3, 50, 4096]) {
    test(`Messages in CRLF chunks of ${size} bytes: message_delta on waits for the row; usage merges message_start's and message_delta's`, async () => {
      let sentBeforeRow = "";
      let outcome: RelayOutcome | undefined;
      const chunks: string[] = [];
      const relay = createRelay({ upstream: upstream(cut(anthropic, size)), abortUpstream: () => {}, upstreamErrorMessage: () => "broke", onEnd: async (o) => {
          outcome = o;
          await Bun.sleep(0); // the reader takes what was written before the row (the held events are written after it)
          sentBeforeRow = chunks.join("");
        } }, messagesStream());
      const dec = new TextDecoder();
      for await (const c of relay) chunks.push(dec.decode(c));
      expect(chunks.join("")).toBe(anthropic);
      expect(sentBeforeRow).toBe(anthropic.slice(0, anthropic.indexOf("event: message_delta")));
      expect(outcome).toMatchObject({ end: "done", modelAnswered: "claude-opus-4-8", usage: { promptTokens: 15, completionTokens: 7, cachedTokens: 5 } });
    });
  }

  test("an upstream that ends without the last event: the partial event goes out, then the format's error event", async () => {
    let outcome: RelayOutcome | undefined;
    const text = await new Response(createRelay({ upstream: upstream([anthropic.slice(0, anthropic.indexOf("event: message_delta") + 10)]), abortUpstream: () => {}, upstreamErrorMessage: () => "broke", onEnd: async (o) => void (outcome = o) }, messagesStream())).text();
    expect(text).toContain('"type":"text_delta","text":"Hi"');
    expect(text).toContain("event: mes\n\nevent: error");
    expect(text).toContain("ended before the response completed");
    expect(outcome).toMatchObject({ end: "upstream_error", usage: undefined, text: "Hi" });
  });

  test("a row that cannot be written: the held events never go out, the format's error event does", async () => {
    const text = await new Response(
      createRelay({ upstream: upstream(cut(anthropic, 64)), abortUpstream: () => {}, upstreamErrorMessage: () => "broke", onEnd: async () => Promise.reject(Object.assign(new Error("The usage database is unavailable."), { code: "storage_unavailable" })) }, messagesStream()),
    ).text();
    expect(text).not.toContain("message_stop");
    expect(text.endsWith(`event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The usage database is unavailable."}}\n\n`)).toBe(true);
  });
});

describe("the SSE byte scanner", () => {
  const b = (s: string) => new TextEncoder().encode(s);
  test("event ends, LF and CRLF", () => {
    const bytes = b("data: a\n\ndata: b\r\n\r\ndata: c");
    expect(eventsEnd(bytes, 0, bytes.length)).toBe(20);
    expect(eventsEnd(bytes, 0, 12)).toBe(9);
    expect(eventsEnd(bytes, 9, 12)).toBe(9);
    expect(eventEndAfter(bytes, 0)).toBe(9);
    expect(eventEndAfter(bytes, 9)).toBe(20);
    expect(eventEndAfter(bytes, 20)).toBe(-1);
    expect(endsWithEvent(b("x\n\n"))).toBe(true);
    expect(endsWithEvent(b("x\r\n\r\n"))).toBe(true);
    expect(endsWithEvent(b("x\n"))).toBe(false);
  });
});

describe("what a relay keeps for an estimate", () => {
  test("a long stream without usage: every chunk's text is kept (read every few KB, escapes undone), not its bytes", async () => {
    const events = Array.from({ length: 400 }, (_, i) => `data: {"id":"c3","model":"m","choices":[{"index":0,"delta":{"content":"w${i} \\"q\\"\\n"}}],"usage":null}\n\n`);
    const call = `data: {"id":"c3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":1}"}}]}}]}\n\n`;
    let outcome: RelayOutcome | undefined;
    await new Response(createChatRelay({ upstream: upstream([...events, call], true), hideUsage: true, abortUpstream: () => {}, upstreamErrorMessage: () => "broke", onEnd: async (o) => void (outcome = o) })).text();
    const expected = Array.from({ length: 400 }, (_, i) => `w${i} "q"\n`).join("") + '{"a":1}';
    expect(outcome).toMatchObject({ end: "upstream_error", usage: undefined, modelAnswered: "m" });
    expect(outcome!.text).toBe(expected);
  });
});
