// `gateway serve --demo`: a provider inside the binary, on a loopback port, so the gateway can be tried
// without a provider account. It speaks OpenAI's API (chat completions streamed or not, Responses,
// embeddings, the model list; Anthropic's Messages reach it translated) and answers every request with a
// short canned reply and usage counted from the text (about four bytes a token), so keys, limits, rows and
// costs all work as they would in front of a real model. No model is called.
import type { Server } from "bun";

export interface DemoProvider {
  url: string;
  stop(): Promise<void>;
}

type Obj = Record<string, unknown>;

const MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-haiku-4-5"];
const tokensOf = (text: string) => Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));

function lastUserText(body: Obj): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const input = body.input;
  const last = typeof input === "string" ? input : messages.filter((m) => m.role === "user").at(-1)?.content ?? input;
  const text = typeof last === "string" ? last : JSON.stringify(last ?? "");
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function reply(body: Obj): string {
  return `Hello from the gateway's demo provider (no model was called). You said: ${lastUserText(body)}`;
}

const sse = (events: string[]) => new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
const data = (v: unknown) => `data: ${JSON.stringify(v)}\n\n`;

function chat(body: Obj): Response {
  const text = reply(body);
  const usage = { prompt_tokens: tokensOf(JSON.stringify(body.messages ?? "")), completion_tokens: tokensOf(text) };
  const total = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
  const base = { id: `chatcmpl-demo${Date.now()}`, created: Math.floor(Date.now() / 1000), model: String(body.model) };
  if (body.stream !== true) {
    return Response.json({ ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage: total });
  }
  const chunk = (delta: Obj, finish: string | null) => data({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
  const words = text.split(/(?<= )/);
  const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  return sse([
    chunk({ role: "assistant", content: "" }, null),
    ...words.map((w) => chunk({ content: w }, null)),
    chunk({}, "stop"),
    ...(wantsUsage ? [data({ ...base, object: "chat.completion.chunk", choices: [], usage: total })] : []),
    "data: [DONE]\n\n",
  ]);
}

function responses(body: Obj): Response {
  const text = reply(body);
  const usage = { input_tokens: tokensOf(JSON.stringify(body.input ?? "") + JSON.stringify(body.instructions ?? "")), output_tokens: tokensOf(text) };
  const message = { type: "message", id: "msg_demo", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] };
  const done = { id: `resp_demo${Date.now()}`, object: "response", created_at: Math.floor(Date.now() / 1000), status: "completed", model: String(body.model), output: [message], usage: { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } };
  if (body.stream !== true) return Response.json({ ...done, output_text: text });
  let n = 0;
  const ev = (type: string, v: Obj) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...v })}\n\n`;
  const part = { type: "output_text", text: "", annotations: [] };
  return sse([
    ev("response.created", { response: { ...done, status: "in_progress", output: [], usage: null } }),
    ev("response.output_item.added", { output_index: 0, item: { ...message, status: "in_progress", content: [] } }),
    ev("response.content_part.added", { item_id: "msg_demo", output_index: 0, content_index: 0, part }),
    ...text.split(/(?<= )/).map((delta) => ev("response.output_text.delta", { item_id: "msg_demo", output_index: 0, content_index: 0, delta })),
    ev("response.output_text.done", { item_id: "msg_demo", output_index: 0, content_index: 0, text }),
    ev("response.content_part.done", { item_id: "msg_demo", output_index: 0, content_index: 0, part: { ...part, text } }),
    ev("response.output_item.done", { output_index: 0, item: message }),
    ev("response.completed", { response: done }),
  ]);
}

function embeddings(body: Obj): Response {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const vector = (s: string) => {
    const h = new Bun.CryptoHasher("sha256").update(s).digest();
    const v = Array.from(h.subarray(0, 16), (b) => b / 255 - 0.5);
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  };
  const texts = inputs.map((i) => (typeof i === "string" ? i : JSON.stringify(i)));
  const prompt = texts.reduce((s, t) => s + tokensOf(t), 0);
  return Response.json({ object: "list", model: String(body.model), data: texts.map((t, index) => ({ object: "embedding", index, embedding: vector(t) })), usage: { prompt_tokens: prompt, total_tokens: prompt } });
}

export function startDemoProvider(): DemoProvider {
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/v1/models") {
        return Response.json({ object: "list", data: MODELS.map((id) => ({ id, object: "model", created: 0, owned_by: "demo" })) });
      }
      let body: Obj;
      try {
        body = (await req.json()) as Obj;
      } catch {
        return Response.json({ error: { message: "The demo provider takes JSON bodies.", type: "invalid_request_error", param: null, code: null } }, { status: 400 });
      }
      if (path === "/v1/chat/completions") return chat(body);
      if (path === "/v1/responses") return responses(body);
      if (path === "/v1/embeddings") return embeddings(body);
      return Response.json({ error: { message: `The demo provider has no ${path}.`, type: "invalid_request_error", param: null, code: "not_found" } }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, stop: async () => void (await server.stop(true)) };
}
