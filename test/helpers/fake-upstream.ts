// A real OpenAI-compatible HTTP server on port 0 that the gateway forwards to in tests.
import type { Server } from "bun";

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export const DEFAULT_USAGE: FakeUsage = {
  prompt_tokens: 1200,
  completion_tokens: 300,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 200 },
  completion_tokens_details: { reasoning_tokens: 50 },
};

export type Handler = (body: Record<string, unknown>, req: Request) => Response | Promise<Response>;

export interface FakeUpstream {
  url: string;
  server: Server<undefined>;
  received: ReceivedRequest[];
  /** Replaces the behaviour for following requests; `reset()` restores the default. */
  setHandler(h: Handler): void;
  reset(): void;
  /** Requests whose connection the gateway aborted. */
  aborted: number;
  stop(): Promise<void>;
}

export function completion(body: Record<string, unknown>, usage: FakeUsage | null = DEFAULT_USAGE) {
  return {
    id: "chatcmpl-fake123",
    object: "chat.completion",
    created: 1_700_000_000,
    model: `${String(body.model)}-2024-08-06`,
    choices: [{ index: 0, message: { role: "assistant", content: "Hello from the fake upstream. ✓ ünïcödé" }, finish_reason: "stop", logprobs: null }],
    ...(usage ? { usage } : {}),
    system_fingerprint: "fp_fake",
  };
}

export const STREAM_PIECES = ["Hello", " from", " the", " fake", " stream", " ✓"];

/** The SSE events a streaming OpenAI endpoint sends, as separate strings. */
export function streamEvents(body: Record<string, unknown>, opts: { usage?: FakeUsage | null; done?: boolean; pieces?: string[] } = {}): string[] {
  const model = `${String(body.model)}-2024-08-06`;
  const base = { id: "chatcmpl-fakestream", object: "chat.completion.chunk", created: 1_700_000_000, model };
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
    ...(opts.pieces ?? STREAM_PIECES).map((p) => ({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
  ].map((e) => `data: ${JSON.stringify(e)}\n\n`);
  const usage = opts.usage === undefined ? DEFAULT_USAGE : opts.usage;
  if (includeUsage && usage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  if (opts.done !== false) events.push("data: [DONE]\n\n");
  return events;
}

/** A fake provider's view of a request: its URL, its body as text and as JSON (undefined when not JSON), noted in `received` (the path with its query when `withQuery`). */
export async function receive(req: Request, received: ReceivedRequest[], withQuery = false): Promise<{ url: URL; text: string; json: Record<string, unknown> | undefined }> {
  const url = new URL(req.url);
  const text = await req.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  received.push({ path: withQuery ? url.pathname + url.search : url.pathname, headers: Object.fromEntries(req.headers), body: json ?? {} });
  return { url, text, json };
}

/** An SSE response that sends each event as its own network write, `delayMs` apart. */
export function sseResponse(events: string[], delayMs = 0, onCancel?: () => void): Response {
  const enc = new TextEncoder();
  let i = 0;
  return new Response(
    new ReadableStream({
      async pull(c) {
        if (i > 0 && delayMs) await Bun.sleep(delayMs);
        if (i >= events.length) return c.close();
        c.enqueue(enc.encode(events[i++]!));
      },
      cancel() {
        onCancel?.();
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

/** What the fake provider's `GET /models` lists (a real provider lists far more than a gateway routes). */
export const UPSTREAM_MODELS = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "dall-e-3", "o3"];

export const RESPONSES_USAGE = { input_tokens: 40, input_tokens_details: { cached_tokens: 10 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 52 };

/** A prompt with this in it, and a web_search tool offered, makes the fake search the web once. */
export const SEARCH_PROMPT = "search the web";
/** What a search adds: the results read by a second sampling (billed as input) and one web_search_call item. */
export const SEARCH_USAGE = { input_tokens: 9040, input_tokens_details: { cached_tokens: 10 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 9070 };

function searches(body: Record<string, unknown>): boolean {
  const tools = Array.isArray(body.tools) ? (body.tools as { type?: string }[]) : [];
  return tools.some((t) => t.type?.startsWith("web_search")) && JSON.stringify(body.input ?? "").includes(SEARCH_PROMPT) && body.max_tool_calls !== 0;
}

/** A Responses API object as OpenAI answers it. */
export function responseObject(body: Record<string, unknown>, id: string, status = "completed") {
  const message = { type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hello from responses.", annotations: [] }] };
  const search = searches(body);
  return {
    id,
    object: "response",
    created_at: 1_700_000_000,
    status,
    model: `${String(body.model)}-2025-01-01`,
    output: search ? [{ type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "weather" } }, message] : [message],
    usage: status === "completed" ? (search ? SEARCH_USAGE : RESPONSES_USAGE) : null,
  };
}

const storedResponses = new Map<string, Record<string, unknown>>();
let responseCounter = 0;

/** POST /responses (stream or not), GET and DELETE /responses/{id}. */
function responsesHandler(body: Record<string, unknown>, req: Request): Response {
  const id = new URL(req.url).pathname.split("/responses/")[1];
  if (id !== undefined) {
    const found = storedResponses.get(decodeURIComponent(id));
    if (!found) return Response.json({ error: { message: "No response found", type: "invalid_request_error", param: null, code: null } }, { status: 404 });
    if (req.method === "DELETE") {
      storedResponses.delete(decodeURIComponent(id));
      return Response.json({ id: found.id, object: "response", deleted: true });
    }
    return Response.json(found);
  }
  const done = responseObject(body, `resp_fake${++responseCounter}`);
  storedResponses.set(done.id, done);
  if (body.stream !== true) return Response.json({ ...done, output_text: "Hello from responses." });
  const ev = (type: string, data: Record<string, unknown>, n: number) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...data })}\n\n`;
  // OpenAI's order: the item and its content part are announced before the deltas (Codex reads them).
  const message = done.output.at(-1)!;
  const at = done.output.length - 1;
  const part = { type: "output_text", text: "", annotations: [] };
  const events = [
    ev("response.created", { response: { ...responseObject(body, done.id, "in_progress"), output: [] } }, 0),
    ev("response.output_item.added", { output_index: at, item: { ...message, status: "in_progress", content: [] } }, 1),
    ev("response.content_part.added", { item_id: "msg_1", output_index: at, content_index: 0, part }, 2),
    ...["Hello", " from", " responses."].map((delta, i) => ev("response.output_text.delta", { item_id: "msg_1", output_index: at, content_index: 0, delta }, i + 3)),
    ev("response.output_text.done", { item_id: "msg_1", output_index: at, content_index: 0, text: "Hello from responses." }, 6),
    ev("response.content_part.done", { item_id: "msg_1", output_index: at, content_index: 0, part: { ...part, text: "Hello from responses." } }, 7),
    ev("response.output_item.done", { output_index: at, item: message }, 8),
    ev("response.completed", { response: done }, 9),
  ];
  return sseResponse(events);
}

export function startFakeUpstream(): FakeUpstream {
  const received: ReceivedRequest[] = [];
  const fake: FakeUpstream = {
    url: "",
    server: undefined as unknown as Server<undefined>,
    received,
    aborted: 0,
    setHandler: (h) => void (handler = h),
    reset: () => void (handler = defaultHandler),
    stop: async () => void (await fake.server.stop(true)),
  };
  const defaultHandler: Handler = (body, req) => {
    if (req.method === "GET" && new URL(req.url).pathname.endsWith("/models")) {
      return Response.json({ object: "list", data: UPSTREAM_MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })) });
    }
    const path = new URL(req.url).pathname;
    if (path.includes("/responses")) return responsesHandler(body, req);
    if (path.endsWith("/embeddings")) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return Response.json({
        object: "list",
        data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.25, -0.5, 0.125] })),
        model: `${String(body.model)}-v1`,
        usage: { prompt_tokens: 8 * inputs.length, total_tokens: 8 * inputs.length },
      });
    }
    return body.stream === true ? sseResponse(streamEvents(body)) : Response.json(completion(body));
  };
  let handler = defaultHandler;
  fake.server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {}
      received.push({ path: url.pathname, headers: Object.fromEntries(req.headers), body });
      req.signal.addEventListener("abort", () => fake.aborted++);
      return handler(body, req);
    },
  });
  fake.url = `http://127.0.0.1:${fake.server.port}/v1`;
  return fake;
}
