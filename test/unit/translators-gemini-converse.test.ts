// The chat ⇄ Gemini and chat ⇄ Converse translators as pure functions, on recorded shapes of both APIs
// (Gemini's generateContent answers and SSE chunks; Bedrock Converse answers and its stream's events,
// framed as AWS's binary event stream by Smithy's codec).
import { describe, expect, test } from "bun:test";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";
import { chatToGeminiRequest, geminiEventsToChat, geminiToChatCompletion, geminiUsage } from "../../src/upstreams/translate/chat-via-gemini.ts";
import { chatToConverseRequest, converseEventsToChat, converseToChatCompletion } from "../../src/upstreams/translate/chat-via-converse.ts";
import { embeddingsToGemini, geminiToEmbeddings } from "../../src/upstreams/translate/embeddings-via-gemini.ts";
import { transformAwsEvents } from "../../src/upstreams/translate/event-stream.ts";
import { splitEvents, transformEvents } from "../../src/upstreams/translate/sse.ts";

const chunksOf = (sse: string) => splitEvents(sse).events.map((e) => e.data);
const read = async (s: ReadableStream<Uint8Array>) => new Response(s).text();
const streamOf = (parts: (string | Uint8Array)[]) => new ReadableStream<Uint8Array>({ start: (c) => (parts.forEach((p) => c.enqueue(typeof p === "string" ? new TextEncoder().encode(p) : p)), c.close()) });

describe("chat → Gemini generateContent", () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      "system and developer join the systemInstruction; assistant is 'model'; consecutive user turns merge",
      { messages: [{ role: "system", content: "A" }, { role: "developer", content: "B" }, { role: "user", content: "hi" }, { role: "user", content: [{ type: "text", text: "again" }] }, { role: "assistant", content: "yo" }] },
      { systemInstruction: { parts: [{ text: "A\n\nB" }] }, contents: [{ role: "user", parts: [{ text: "hi" }, { text: "again" }] }, { role: "model", parts: [{ text: "yo" }] }] },
    ],
    [
      "images: data URLs inline, URLs as fileData with a MIME type from the extension",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,iVBO" } }, { type: "image_url", image_url: { url: "https://x/y.webp?v=1" } }] }] },
      { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/png", data: "iVBO" } }, { fileData: { mimeType: "image/webp", fileUri: "https://x/y.webp?v=1" } }] }] },
    ],
    [
      "tool calls and results: a result is a functionResponse named after its call",
      { messages: [{ role: "user", content: "w?" }, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, { role: "tool", tool_call_id: "c1", content: "one" }] },
      { contents: [{ role: "user", parts: [{ text: "w?" }] }, { role: "model", parts: [{ functionCall: { name: "f", args: { a: 1 } } }] }, { role: "user", parts: [{ functionResponse: { name: "f", response: { result: "one" } } }] }] },
    ],
    [
      "generation settings, tools, a named tool choice, a JSON schema",
      { messages: [{ role: "user", content: "x" }], max_completion_tokens: 77, temperature: 0, top_p: 0.9, stop: "END", seed: 7, tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }], tool_choice: { type: "function", function: { name: "f" } }, response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" } } } },
      { generationConfig: { maxOutputTokens: 77, temperature: 0, topP: 0.9, stopSequences: ["END"], seed: 7, responseMimeType: "application/json", responseJsonSchema: { type: "object" } }, tools: [{ functionDeclarations: [{ name: "f", description: "d", parameters: { type: "object" } }] }], toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } } },
    ],
  ];
  for (const [name, chat, expected] of cases) test(name, () => expect(chatToGeminiRequest(chat)).toMatchObject(expected));
  test("n > 1 is refused; fields Gemini does not know never reach it", () => {
    expect(() => chatToGeminiRequest({ messages: [{ role: "user", content: "x" }], n: 2 })).toThrow("'n' greater than 1");
    expect(Object.keys(chatToGeminiRequest({ messages: [{ role: "user", content: "x" }], user: "u", stream: true, stream_options: {}, tool_choice: "auto" }))).toEqual(["contents"]);
  });
});

describe("Gemini → chat", () => {
  const recorded = {
    candidates: [{ content: { role: "model", parts: [{ text: "plan", thought: true }, { text: "Hi" }, { functionCall: { name: "f", args: { a: 1 } } }] }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 30, cachedContentTokenCount: 40, totalTokenCount: 150 },
    modelVersion: "gemini-2.5-flash",
    responseId: "r1",
  };
  test("an answer: text without thoughts, function calls, finish tool_calls, thinking counted as output and reasoning", () => {
    expect(geminiToChatCompletion(recorded)).toMatchObject({
      id: "r1",
      model: "gemini-2.5-flash",
      choices: [{ finish_reason: "tool_calls", message: { content: "Hi", tool_calls: [{ id: "call_r1_0", type: "function", function: { name: "f", arguments: '{"a":1}' } }] } }],
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 30 } },
    });
  });
  test.each([["MAX_TOKENS", "length"], ["SAFETY", "content_filter"], ["RECITATION", "content_filter"], ["OTHER", "stop"]])("finishReason %s → %s", (reason, finish) => {
    expect((geminiToChatCompletion({ candidates: [{ content: { parts: [{ text: "x" }] }, finishReason: reason }] }).choices as { finish_reason: string }[])[0]!.finish_reason).toBe(finish);
  });
  test("a prompt blocked before any candidate is content_filter", () => {
    expect((geminiToChatCompletion({ promptFeedback: { blockReason: "SAFETY" } }).choices as { finish_reason: string }[])[0]!.finish_reason).toBe("content_filter");
  });
  test("a stream: text chunks, the finish, then at its end the usage chunk and [DONE]", async () => {
    const sse = [
      { candidates: [{ content: { parts: [{ text: "He" }] } }], usageMetadata: { promptTokenCount: 9 }, modelVersion: "gemini-2.5-flash", responseId: "s1" },
      { candidates: [{ content: { parts: [{ text: "llo" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 2, totalTokenCount: 11 } },
    ].map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`);
    const out = chunksOf(await read(transformEvents(streamOf(sse), geminiEventsToChat())));
    expect(out.at(-1)).toBe("[DONE]");
    const chunks = out.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? null)).toEqual(["", "He", "llo", null, null]);
    expect(chunks[3].choices[0].finish_reason).toBe("stop");
    expect(chunks[4].usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 2 });
  });
  test("a stream that ends without a finish reason has no [DONE] (the relay reports it cut short)", async () => {
    const out = chunksOf(await read(transformEvents(streamOf([`data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: "He" }] } }] })}\n\n`]), geminiEventsToChat())));
    expect(out).not.toContain("[DONE]");
  });
  test("usage without thoughts or cache", () => expect(geminiUsage({ promptTokenCount: 5, candidatesTokenCount: 3 })).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, completion_tokens_details: { reasoning_tokens: 0 } }));
  test("embeddings: one batch request, float or base64 vectors back, token arrays refused", () => {
    expect(embeddingsToGemini({ input: "a", dimensions: 8 }, "e")).toEqual({ requests: [{ model: "models/e", content: { parts: [{ text: "a" }] }, outputDimensionality: 8 }] });
    expect(() => embeddingsToGemini({ input: [[1, 2]] }, "e")).toThrow("Token arrays are not supported");
    const b64 = geminiToEmbeddings({ embeddings: [{ values: [0.5, -2] }] }, "e", "base64").data as { embedding: string }[];
    expect([...new Float32Array(Buffer.from(b64[0]!.embedding, "base64").buffer.slice(0))]).toEqual([0.5, -2]);
  });
});

describe("chat → Bedrock Converse", () => {
  test("system, alternating turns, images as bytes, tool calls and results, inference and tool config", () => {
    const out = chatToConverseRequest({
      messages: [
        { role: "system", content: "S" },
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/" } }] },
        { role: "assistant", content: "", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        { role: "tool", tool_call_id: "t1", content: "r" },
        { role: "user", content: "" },
      ],
      max_tokens: 50,
      top_p: 0.5,
      stop: ["X"],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: "required",
    });
    expect(out).toEqual({
      system: [{ text: "S" }],
      messages: [
        { role: "user", content: [{ text: "look" }, { image: { format: "jpeg", source: { bytes: "/9j/" } } }] },
        { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "f", input: { a: 1 } } }] },
        { role: "user", content: [{ toolResult: { toolUseId: "t1", content: [{ text: "r" }] } }] },
      ],
      inferenceConfig: { maxTokens: 50, topP: 0.5, stopSequences: ["X"] },
      toolConfig: { tools: [{ toolSpec: { name: "f", inputSchema: { json: { type: "object" } } } }], toolChoice: { any: {} } },
    });
  });
  test("image URLs (not fetched by Bedrock) and n > 1 are refused", () => {
    expect(() => chatToConverseRequest({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] })).toThrow("base64 data URLs");
    expect(() => chatToConverseRequest({ messages: [{ role: "user", content: "x" }], n: 3 })).toThrow("'n' greater than 1");
  });
  test("an answer: text, tool use, stop reason, usage with cache reads and writes in the prompt", () => {
    const out = converseToChatCompletion({ output: { message: { role: "assistant", content: [{ text: "Hi" }, { toolUse: { toolUseId: "t9", name: "f", input: { b: 2 } } }] } }, stopReason: "tool_use", usage: { inputTokens: 10, outputTokens: 4, cacheReadInputTokens: 5, cacheWriteInputTokens: 3 } }, { upstreamModel: "m" });
    expect(out).toMatchObject({ model: "m", choices: [{ finish_reason: "tool_calls", message: { content: "Hi", tool_calls: [{ id: "t9", function: { name: "f", arguments: '{"b":2}' } }] } }], usage: { prompt_tokens: 18, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 5, cache_creation_tokens: 3 } } });
    expect((converseToChatCompletion({ stopReason: "guardrail_intervened" }, { upstreamModel: "m" }).choices as { finish_reason: string }[])[0]!.finish_reason).toBe("content_filter");
  });
  test("an event stream, frames split anywhere: chunks, the tool call, the finish, usage and [DONE]; an exception frame becomes an error event", async () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const str = (value: string) => ({ type: "string" as const, value });
    const frame = (type: string, body: object, kind = "event") => codec.encode({ headers: { [kind === "event" ? ":event-type" : ":exception-type"]: str(type), ":message-type": str(kind), ":content-type": str("application/json") }, body: fromUtf8(JSON.stringify(body)) });
    const frames = [
      frame("messageStart", { role: "assistant" }),
      frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hi" } }),
      frame("contentBlockStart", { contentBlockIndex: 1, start: { toolUse: { toolUseId: "t1", name: "f" } } }),
      frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"a":' } } }),
      frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: "1}" } } }),
      frame("messageStop", { stopReason: "tool_use" }),
      frame("metadata", { usage: { inputTokens: 3, outputTokens: 2 } }),
    ];
    const bytes = Buffer.concat(frames);
    const pieces = [bytes.subarray(0, 5), bytes.subarray(5, 70), bytes.subarray(70)];
    const out = chunksOf(await read(transformAwsEvents(streamOf(pieces), converseEventsToChat("m"))));
    expect(out.at(-1)).toBe("[DONE]");
    const chunks = out.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? null).filter((a) => a !== null)).toEqual(["", '{"a":', "1}"]);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 2 });
    const failed = chunksOf(await read(transformAwsEvents(streamOf([frame("throttlingException", { message: "slow down" }, "exception")]), converseEventsToChat("m"))));
    expect(JSON.parse(failed[0]!)).toMatchObject({ error: { message: "slow down", code: "throttlingException" } });
  });
  test("a damaged frame (bad CRC) errors the stream instead of being read", async () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const good = codec.encode({ headers: { ":event-type": { type: "string", value: "messageStart" }, ":message-type": { type: "string", value: "event" } }, body: fromUtf8("{}") });
    const bad = Uint8Array.from(good);
    bad[bad.length - 6]! ^= 0xff;
    await expect(read(transformAwsEvents(streamOf([bad]), converseEventsToChat("m")))).rejects.toThrow();
  });
});
