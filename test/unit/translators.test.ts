// The chat ⇄ messages translators as pure functions, on recorded shapes of both APIs.
import { describe, expect, test } from "bun:test";
import { anthropicEventsToChat, anthropicToChatCompletion, chatToAnthropicRequest } from "../../src/upstreams/translate/chat-via-anthropic.ts";
import { chatCompletionToMessage, chatEventsToMessages, messagesToChatRequest } from "../../src/upstreams/translate/messages-via-openai.ts";
import { splitEvents, type EventStep } from "../../src/upstreams/translate/sse.ts";

const run = (step: EventStep, raw: string) => splitEvents(raw).events.flatMap(step);
const chatChunks = (out: string[]) => out.filter((e) => e !== "data: [DONE]\n\n").map((e) => JSON.parse(e.slice(6)) as Record<string, any>);
const anthropicEvents = (out: string[]) => splitEvents(out.join("")).events.map((e) => ({ event: e.event, ...(JSON.parse(e.data) as Record<string, any>) }));

describe("chat request → Anthropic message request", () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      "system and developer messages join the system prompt; consecutive user turns merge",
      { messages: [{ role: "system", content: "A" }, { role: "developer", content: [{ type: "text", text: "B" }] }, { role: "user", content: "hi" }, { role: "user", content: "again" }] },
      { system: "A\n\nB", messages: [{ role: "user", content: [{ type: "text", text: "hi" }, { type: "text", text: "again" }] }] },
    ],
    [
      "images by data URL and by URL",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,iVBO" } }, { type: "image_url", image_url: { url: "https://x/y.jpg" } }] }] },
      { messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } }, { type: "image", source: { type: "url", url: "https://x/y.jpg" } }] }] },
    ],
    [
      "assistant tool calls and tool results (results of one turn in one user message)",
      {
        messages: [
          { role: "user", content: "w?" },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }, { id: "c2", type: "function", function: { name: "g", arguments: "" } }] },
          { role: "tool", tool_call_id: "c1", content: "one" },
          { role: "tool", tool_call_id: "c2", content: [{ type: "text", text: "two" }] },
        ],
      },
      {
        messages: [
          { role: "user", content: [{ type: "text", text: "w?" }] },
          { role: "assistant", content: [{ type: "tool_use", id: "c1", name: "f", input: { a: 1 } }, { type: "tool_use", id: "c2", name: "g", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "c1", content: "one" }, { type: "tool_result", tool_use_id: "c2", content: "two" }] },
        ],
      },
    ],
    [
      "tools, a named tool choice without parallel calls, stop strings, max_completion_tokens, user",
      { messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f", description: "d" } }], tool_choice: { type: "function", function: { name: "f" } }, parallel_tool_calls: false, stop: ["A", "B"], max_completion_tokens: 77, temperature: 0.2, user: "u1" },
      { max_tokens: 77, temperature: 0.2, stop_sequences: ["A", "B"], tools: [{ name: "f", description: "d", input_schema: { type: "object", properties: {} } }], tool_choice: { type: "tool", name: "f", disable_parallel_tool_use: true }, metadata: { user_id: "u1" } },
    ],
  ];
  for (const [name, chat, expected] of cases) {
    test(name, () => expect(chatToAnthropicRequest(chat, "claude-x", 4096, false)).toMatchObject({ model: "claude-x", ...expected }));
  }
  test("several choices (n > 1) are refused, never silently reduced to one", () => {
    expect(() => chatToAnthropicRequest({ messages: [{ role: "user", content: "x" }], n: 2 }, "m", 10, false)).toThrow("'n' greater than 1 is not supported");
    expect(chatToAnthropicRequest({ messages: [{ role: "user", content: "x" }], n: 1 }, "m", 10, false)).toMatchObject({ model: "m" });
  });
  test("max_tokens defaults to the model's maximum; no tool_choice without tools", () => {
    const out = chatToAnthropicRequest({ messages: [{ role: "user", content: "x" }], tool_choice: "auto" }, "m", 1234, true);
    expect(out).toEqual({ model: "m", max_tokens: 1234, stream: true, messages: [{ role: "user", content: [{ type: "text", text: "x" }] }] });
  });
});

describe("Anthropic message → chat completion", () => {
  test("text, tool use, stop reason and usage (cache reads and writes in the prompt)", () => {
    const out = anthropicToChatCompletion({
      id: "msg_1",
      model: "claude-x",
      content: [{ type: "text", text: "Hi", citations: null }, { type: "tool_use", id: "t1", name: "f", input: { a: 1 } }],
      stop_reason: "tool_use",
      usage: { input_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 2, output_tokens: 3 },
    });
    expect(out).toMatchObject({
      id: "msg_1",
      object: "chat.completion",
      model: "claude-x",
      choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: "Hi", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] } }],
      usage: { prompt_tokens: 17, completion_tokens: 3, total_tokens: 20, prompt_tokens_details: { cached_tokens: 5, cache_creation_tokens: 2 } },
    });
  });
  test.each([["end_turn", "stop"], ["max_tokens", "length"], ["stop_sequence", "stop"], ["refusal", "content_filter"]])("stop_reason %s → finish_reason %s", (stop, finish) => {
    expect((anthropicToChatCompletion({ content: [], stop_reason: stop }).choices as { finish_reason: string }[])[0]!.finish_reason).toBe(finish);
  });
});

describe("Anthropic events → chat chunks", () => {
  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const recorded = [
    ev("message_start", { message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 10, output_tokens: 1 } } }),
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    ev("ping", {}),
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }),
    ev("content_block_stop", { index: 0 }),
    ev("content_block_start", { index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } }),
    ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '{"a"' } }),
    ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: ":1}" } }),
    ev("content_block_stop", { index: 1 }),
    ev("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } }),
    ev("message_stop", {}),
  ].join("");

  test("role, content, tool call with its argument deltas (tool index, not block index), finish, usage chunk, [DONE]", () => {
    const out = run(anthropicEventsToChat(), recorded);
    expect(out.at(-1)).toBe("data: [DONE]\n\n");
    const chunks = chatChunks(out);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: "assistant", content: "" },
      { content: "Hi" },
      { tool_calls: [{ index: 0, id: "t1", type: "function", function: { name: "f", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] },
      { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] },
      {},
      undefined,
    ]);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ id: "msg_1", model: "claude-x", choices: [], usage: { prompt_tokens: 10, completion_tokens: 9 } });
  });
  test("an error event becomes an OpenAI error chunk, and no [DONE]", () => {
    const out = run(anthropicEventsToChat(), ev("error", { error: { type: "overloaded_error", message: "Overloaded" } }));
    expect(out).toEqual([`data: ${JSON.stringify({ error: { message: "Overloaded", type: "overloaded_error", param: null, code: "upstream_error" } })}\n\n`]);
  });
});

describe("Anthropic message request → chat request", () => {
  test("system blocks, images, tool results (errors marked) before the rest of the turn, server tools left out", () => {
    const out = messagesToChatRequest(
      {
        system: [{ type: "text", text: "Sys" }],
        max_tokens: 50,
        stop_sequences: ["Z"],
        metadata: { user_id: "u" },
        tools: [{ name: "f", input_schema: { type: "object" } }, { type: "web_search_20250305", name: "web_search" }],
        tool_choice: { type: "any", disable_parallel_tool_use: true },
        messages: [
          { role: "user", content: [{ type: "text", text: "look" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAA" } }] },
          { role: "assistant", content: [{ type: "thinking", thinking: "hmm" }, { type: "text", text: "ok" }, { type: "tool_use", id: "t1", name: "f", input: { q: 1 } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", is_error: true, content: [{ type: "text", text: "boom" }] }, { type: "text", text: "fix it" }] },
        ],
      },
      "gpt-x",
      false,
    );
    expect(out).toEqual({
      model: "gpt-x",
      max_tokens: 50,
      stop: ["Z"],
      user: "u",
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      messages: [
        { role: "system", content: "Sys" },
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } }] },
        { role: "assistant", content: "ok", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"q":1}' } }] },
        { role: "tool", tool_call_id: "t1", content: "Error: boom" },
        { role: "user", content: "fix it" },
      ],
    });
  });
});

describe("the output cap in the target API's field", () => {
  test("OpenAI's reasoning models get max_completion_tokens (they refuse max_tokens); other models max_tokens", () => {
    const body = { max_tokens: 32_000, messages: [{ role: "user", content: "hi" }] };
    for (const model of ["o4-mini", "o3", "gpt-5.1-codex"]) {
      const out = messagesToChatRequest(body, model, false);
      expect(out.max_completion_tokens).toBe(32_000);
      expect(out.max_tokens).toBeUndefined();
    }
    expect(messagesToChatRequest(body, "gpt-4o-mini", false).max_tokens).toBe(32_000);
  });
});

describe("chat completion → Anthropic message", () => {
  test("content, tool calls with parsed input, stop reason, usage without cache reads in input_tokens", () => {
    const out = chatCompletionToMessage({
      id: "chatcmpl-1",
      model: "gpt-x",
      choices: [{ message: { content: "Hi", tool_calls: [{ id: "c1", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "tool_calls" }],
      usage: { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 40 } },
    });
    expect(out).toEqual({
      id: "msg_chatcmpl-1",
      type: "message",
      role: "assistant",
      model: "gpt-x",
      content: [{ type: "text", text: "Hi", citations: null }, { type: "tool_use", id: "c1", name: "f", input: { a: 1 } }],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 60, output_tokens: 7, cache_read_input_tokens: 40, cache_creation_input_tokens: 0 },
    });
  });
});

describe("chat chunks → Anthropic events", () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "c1", model: "gpt-x", choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  test("message_start, a text block, then a tool block with argument deltas, message_delta with usage, message_stop", () => {
    const raw = [
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Hi" }),
      chunk({ tool_calls: [{ index: 0, id: "t1", type: "function", function: { name: "f", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
      chunk({}, "tool_calls"),
      `data: ${JSON.stringify({ id: "c1", model: "gpt-x", choices: [], usage: { prompt_tokens: 20, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 } } })}\n\n`,
      "data: [DONE]\n\n",
    ].join("");
    const events = anthropicEvents(run(chatEventsToMessages(), raw));
    expect(events.map((e) => e.event)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(events[0]).toMatchObject({ type: "message_start", message: { id: "msg_c1", model: "gpt-x", role: "assistant" } });
    expect(events[2]).toMatchObject({ index: 0, delta: { type: "text_delta", text: "Hi" } });
    expect(events[4]).toMatchObject({ index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } });
    expect(events[5]).toMatchObject({ index: 1, delta: { type: "input_json_delta", partial_json: '{"a":1}' } });
    expect(events[7]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { input_tokens: 16, output_tokens: 5, cache_read_input_tokens: 4 } });
  });
  test("a stream that ends without [DONE] gets no message_stop (the relay reports it incomplete)", () => {
    const events = anthropicEvents(run(chatEventsToMessages(), chunk({ content: "Hi" })));
    expect(events.map((e) => e.event)).toEqual(["message_start", "content_block_start", "content_block_delta"]);
  });
});
