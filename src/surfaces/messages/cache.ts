// Anthropic Messages in the response cache: a cached message replayed as Anthropic's events, and a
// relayed event stream collected into the message it amounts to.
import type { CacheFormat, StreamCollector } from "../../cache/collect.ts";
import { anthropicEvent, parseData } from "../../upstreams/translate/sse.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function replay(message: Obj): string {
  const usage = isObj(message.usage) ? message.usage : {};
  const blocks = Array.isArray(message.content) ? (message.content as Obj[]) : [];
  let out = anthropicEvent("message_start", { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } } });
  blocks.forEach((block, index) => {
    if (block.type === "text") {
      out += anthropicEvent("content_block_start", { index, content_block: { ...block, text: "" } });
      out += anthropicEvent("content_block_delta", { index, delta: { type: "text_delta", text: block.text } });
    } else if (block.type === "tool_use") {
      out += anthropicEvent("content_block_start", { index, content_block: { ...block, input: {} } });
      out += anthropicEvent("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === "thinking") {
      out += anthropicEvent("content_block_start", { index, content_block: { ...block, thinking: "", signature: "" } });
      out += anthropicEvent("content_block_delta", { index, delta: { type: "thinking_delta", thinking: block.thinking } });
      if (typeof block.signature === "string") out += anthropicEvent("content_block_delta", { index, delta: { type: "signature_delta", signature: block.signature } });
    } else {
      out += anthropicEvent("content_block_start", { index, content_block: block });
    }
    out += anthropicEvent("content_block_stop", { index });
  });
  out += anthropicEvent("message_delta", { delta: { stop_reason: message.stop_reason ?? "end_turn", stop_sequence: message.stop_sequence ?? null }, usage });
  return out + anthropicEvent("message_stop", {});
}

function collector(): StreamCollector {
  let message: Obj | undefined;
  const blocks: Obj[] = [];
  const json: string[] = [];
  let delta: Obj = {};
  let usage: Obj = {};
  let stopped = false;
  return {
    feed({ data }) {
      const ev = parseData(data);
      if (!ev) return;
      const index = typeof ev.index === "number" ? ev.index : 0;
      if (ev.type === "message_start" && isObj(ev.message)) {
        message = ev.message;
        usage = isObj(ev.message.usage) ? { ...ev.message.usage } : {};
      } else if (ev.type === "content_block_start" && isObj(ev.content_block)) {
        blocks[index] = { ...ev.content_block };
        json[index] = "";
      } else if (ev.type === "content_block_delta" && isObj(ev.delta) && blocks[index]) {
        const d = ev.delta;
        const b = blocks[index]!;
        if (d.type === "text_delta") b.text = `${String(b.text ?? "")}${String(d.text ?? "")}`;
        if (d.type === "input_json_delta") json[index] += String(d.partial_json ?? "");
        if (d.type === "thinking_delta") b.thinking = `${String(b.thinking ?? "")}${String(d.thinking ?? "")}`;
        if (d.type === "signature_delta") b.signature = d.signature;
      } else if (ev.type === "message_delta") {
        if (isObj(ev.delta)) delta = ev.delta;
        if (isObj(ev.usage)) usage = { ...usage, ...ev.usage };
      } else if (ev.type === "message_stop") stopped = true;
    },
    answer() {
      if (!message || !stopped) return undefined;
      const content = blocks.map((b, i) => {
        if (b.type !== "tool_use" && b.type !== "server_tool_use") return b;
        try {
          return { ...b, input: json[i] ? JSON.parse(json[i]!) : (b.input ?? {}) };
        } catch {
          return b;
        }
      });
      return { ...message, content, stop_reason: delta.stop_reason ?? "end_turn", stop_sequence: delta.stop_sequence ?? null, usage };
    },
  };
}

export const MESSAGES_CACHE: CacheFormat = { replay: (message) => replay(message), collector };
