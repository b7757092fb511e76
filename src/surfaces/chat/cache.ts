// Chat completions in the response cache: a cached completion replayed as chunks (the usage chunk only
// when asked), and a relayed stream of chunks collected into the completion it amounts to.
import type { CacheFormat, StreamCollector } from "../../cache/collect.ts";
import { parseData } from "../../upstreams/translate/sse.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function replay(completion: Obj, wantsUsage: boolean): string {
  const base = { id: completion.id, object: "chat.completion.chunk", created: completion.created, model: completion.model, system_fingerprint: completion.system_fingerprint ?? null };
  const choice = (Array.isArray(completion.choices) ? completion.choices[0] : undefined) as Obj | undefined;
  const message = isObj(choice?.message) ? choice.message : {};
  const chunk = (delta: Obj, finish: unknown = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  let out = chunk({ role: "assistant", content: "" });
  if (typeof message.content === "string" && message.content !== "") out += chunk({ content: message.content });
  if (typeof message.refusal === "string" && message.refusal !== "") out += chunk({ refusal: message.refusal });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  if (calls.length > 0) out += chunk({ tool_calls: calls.map((c, index) => ({ index, ...(c as Obj) })) });
  out += chunk({}, choice?.finish_reason ?? "stop");
  if (wantsUsage && completion.usage) out += `data: ${JSON.stringify({ ...base, choices: [], usage: completion.usage })}\n\n`;
  return `${out}data: [DONE]\n\n`;
}

function collector(): StreamCollector {
  let head: Obj | undefined;
  let content = "";
  let refusal = "";
  let finish: unknown = null;
  let usage: unknown;
  let done = false;
  const calls: { id?: unknown; type: string; function: { name: string; arguments: string } }[] = [];
  return {
    feed({ data }) {
      if (data.trim() === "[DONE]") return void (done = true);
      const chunk = parseData(data);
      if (!chunk || chunk.error) return;
      if (!head && typeof chunk.id === "string" && chunk.id !== "") head = chunk;
      if (isObj(chunk.usage)) usage = chunk.usage;
      const choice = (Array.isArray(chunk.choices) ? chunk.choices[0] : undefined) as Obj | undefined;
      const delta = isObj(choice?.delta) ? choice.delta : {};
      if (typeof delta.content === "string") content += delta.content;
      if (typeof delta.refusal === "string") refusal += delta.refusal;
      for (const call of Array.isArray(delta.tool_calls) ? (delta.tool_calls as Obj[]) : []) {
        const index = typeof call.index === "number" ? call.index : 0;
        const fn = isObj(call.function) ? call.function : {};
        const slot = (calls[index] ??= { type: "function", function: { name: "", arguments: "" } });
        if (call.id !== undefined) slot.id = call.id;
        if (typeof fn.name === "string") slot.function.name += fn.name;
        if (typeof fn.arguments === "string") slot.function.arguments += fn.arguments;
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
    },
    answer() {
      if (!done || !head || finish === null) return undefined;
      const message: Obj = { role: "assistant", content: content === "" && calls.length > 0 ? null : content, refusal: refusal || null };
      if (calls.length > 0) message.tool_calls = calls.filter(Boolean);
      return { id: head.id, object: "chat.completion", created: head.created, model: head.model, choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) };
    },
  };
}

export const CHAT_CACHE: CacheFormat = { replay, collector };
