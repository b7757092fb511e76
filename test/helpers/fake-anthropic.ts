// A real HTTP server speaking Anthropic's Messages API on port 0: messages (streamed or not, with a tool
// call when tools are offered), count_tokens and the model list; it checks the provider key.
import type { Server } from "bun";
import { PROVIDER_KEY } from "./gateway.ts";
import { receive, type ReceivedRequest } from "./fake-upstream.ts";

/** What every answer reports: 30 uncached input tokens, 400 read from and 100 written to the cache, 12 output. */
export const ANTHROPIC_USAGE = { input_tokens: 30, cache_creation_input_tokens: 100, cache_read_input_tokens: 400, output_tokens: 12 };
export const ANTHROPIC_TEXT = ["Hello", " from", " Claude", " ✓"];
export const TOOL_INPUT = { city: "Paris", unit: "celsius" };

export interface FakeAnthropic {
  url: string;
  received: ReceivedRequest[];
  stop(): Promise<void>;
}

const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** A prompt with this in it, and a web search tool offered, makes the fake search once. */
export const ANTHROPIC_SEARCH_PROMPT = "search the web";
/** What a search adds: results read as input, and the count Anthropic reports in server_tool_use. */
export const ANTHROPIC_SEARCH_USAGE = { input_tokens: 7030, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 40, server_tool_use: { web_search_requests: 1 } };

const serverTool = (t: { type?: string }) => t.type !== undefined && t.type !== "custom";

/** Whether to answer with a tool call: client tools were offered and the conversation does not end with a tool result. */
function wantsTool(body: Record<string, unknown>): { name: string } | undefined {
  const tools = (body.tools as { name: string; type?: string }[] | undefined)?.filter((t) => !serverTool(t));
  const last = (body.messages as { content: unknown }[] | undefined)?.at(-1)?.content;
  const answered = Array.isArray(last) && last.some((b: { type?: string }) => b.type === "tool_result");
  return tools && tools.length > 0 && !answered ? tools[0] : undefined;
}

function searches(body: Record<string, unknown>): boolean {
  const tools = (body.tools as { type?: string; max_uses?: number }[] | undefined) ?? [];
  return tools.some((t) => t.type?.startsWith("web_search") && t.max_uses !== 0) && JSON.stringify(body.messages ?? "").includes(ANTHROPIC_SEARCH_PROMPT);
}

function message(body: Record<string, unknown>) {
  const tool = wantsTool(body);
  const search = searches(body);
  const content: Record<string, unknown>[] = search
    ? [
        { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "weather" } },
        { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [{ type: "web_search_result", url: "https://example.com", title: "Weather", encrypted_content: "x", page_age: null }] },
      ]
    : [];
  content.push({ type: "text", text: ANTHROPIC_TEXT.join("") });
  if (tool) content.push({ type: "tool_use", id: "toolu_fake1", name: tool.name, input: TOOL_INPUT });
  return { id: "msg_fake1", type: "message", role: "assistant", model: `${String(body.model)}-20250929`, content, stop_reason: tool ? "tool_use" : "end_turn", stop_sequence: null, usage: search ? ANTHROPIC_SEARCH_USAGE : ANTHROPIC_USAGE };
}

function stream(body: Record<string, unknown>): string[] {
  const done = message(body);
  const tool = wantsTool(body);
  const args = JSON.stringify(TOOL_INPUT);
  return [
    event("message_start", { message: { ...done, content: [], stop_reason: null, usage: { ...done.usage, output_tokens: 1, server_tool_use: undefined } } }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    event("ping", {}),
    ...ANTHROPIC_TEXT.map((text) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text } })),
    event("content_block_stop", { index: 0 }),
    ...(tool
      ? [
          event("content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_fake1", name: tool.name, input: {} } }),
          event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: args.slice(0, 10) } }),
          event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: args.slice(10) } }),
          event("content_block_stop", { index: 1 }),
        ]
      : []),
    event("message_delta", { delta: { stop_reason: done.stop_reason, stop_sequence: null }, usage: { output_tokens: done.usage.output_tokens, ...("server_tool_use" in done.usage ? { server_tool_use: done.usage.server_tool_use } : {}) } }),
    event("message_stop", {}),
  ];
}

export function startFakeAnthropic(): FakeAnthropic {
  const received: ReceivedRequest[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const { url, json } = await receive(req, received);
      const path = url.pathname;
      const body = json ?? {};
      if (req.headers.get("x-api-key") !== PROVIDER_KEY) {
        return Response.json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }, { status: 401 });
      }
      if (path === "/v1/models") {
        return Response.json({ data: [{ type: "model", id: "claude-sonnet-4-5-20250929", display_name: "Claude Sonnet 4.5", created_at: "2025-09-29T00:00:00Z" }], has_more: false });
      }
      if (path === "/v1/messages/count_tokens") return Response.json({ input_tokens: 42 });
      if (path !== "/v1/messages") return Response.json({ type: "error", error: { type: "not_found_error", message: "Not found" } }, { status: 404 });
      if (typeof body.max_tokens !== "number") return Response.json({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } }, { status: 400 });
      if (body.stream !== true) return Response.json(message(body));
      const events = stream(body);
      const enc = new TextEncoder();
      // metadata.user_id "slow" spaces the events 200 ms apart (a client can go away mid-stream).
      const delay = (body.metadata as { user_id?: string } | undefined)?.user_id === "slow" ? 200 : 0;
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(c) {
            if (i > 0 && delay) await Bun.sleep(delay);
            if (i < events.length) c.enqueue(enc.encode(events[i++]!));
            else c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, received, stop: async () => void (await server.stop(true)) };
}
