// OpenAI's chat completion stream as a relay format: the events worth decoding are the one whose usage is
// an object (not the `"usage":null` OpenAI puts in every chunk) and [DONE], the last event, which waits
// for the row. The usage chunk the gateway asked for on the customer's behalf is dropped; the one the
// customer asked for is held with what follows it and gets the row's cost.
import { readUsage } from "../openai-usage.ts";
import { find, jsonStrings, parseEvent } from "../../sse.ts";
import type { ReportedUsage } from "../../usage/reported.ts";
import { createRelay, type RelayOptions, type StreamFormat } from "../relay.ts";

const USAGE = Buffer.from('"usage"');
const DONE = Buffer.from("[DONE]");
const MODEL = /"model"\s*:\s*"([^"\\]*)"/;
const CHAT_TEXT = /"(?:content|arguments)"\s*:\s*"((?:[^"\\]|\\.)*)"/g;

/** Where `"usage"` is followed by an object (`"usage": {`), at or after `from`; -1 if nowhere. */
function usageObjectAt(bytes: Uint8Array, from: number): number {
  for (let at = find(bytes, USAGE, from); at !== -1; at = find(bytes, USAGE, at + USAGE.length)) {
    // Cut off at the chunk's end: decided once the event is whole.
    let i = at + USAGE.length;
    while (i < bytes.length && bytes[i] === 32) i++;
    if (i >= bytes.length) return at;
    if (bytes[i] !== 58) continue; // ':'
    i++;
    while (i < bytes.length && bytes[i] === 32) i++;
    if (i >= bytes.length || bytes[i] === 123) return at; // '{'
  }
  return -1;
}

/** The content and tool-call arguments streamed in chat chunks, unescaped: what an estimate counts. */
export function chatText(events: string): string {
  return jsonStrings(events, CHAT_TEXT);
}

/** The chat stream's format; `hideUsage` drops the usage-only chunk the customer did not ask for. */
export function chatStream(hideUsage: boolean): StreamFormat {
  let usage: ReportedUsage | undefined;
  let model: string | null = null;
  return {
    find(bytes, from) {
      const u = usageObjectAt(bytes, from);
      const d = find(bytes, DONE, from);
      return u === -1 ? d : d === -1 ? u : Math.min(u, d);
    },
    inspect(event) {
      const data = parseEvent(event).data.trim();
      if (data === "[DONE]") return "last";
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return "keep";
      }
      const u = payload && typeof payload === "object" ? readUsage(payload.usage) : undefined;
      if (!u) return "keep";
      usage = u;
      if (typeof payload.model === "string") model ??= payload.model;
      // The usage the customer asked for waits for the row, to carry its cost.
      return hideUsage && Array.isArray(payload.choices) && payload.choices.length === 0 ? "drop" : "hold";
    },
    generated: chatText,
    summarize: (sent) => ({ usage, modelAnswered: MODEL.exec(sent.firstText(4096))?.[1] ?? model, text: usage ? "" : sent.generatedText() }),
    errorEvent,
    cutShort: "The upstream stream ended before [DONE]; the response may be incomplete.",
  };
}

/** Relays a chat completion stream (see chatStream). */
export function createChatRelay(opts: RelayOptions & { hideUsage: boolean }): ReadableStream<Uint8Array> {
  return createRelay(opts, chatStream(opts.hideUsage));
}

export function errorEvent(message: string, code = "upstream_error", type = "upstream_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}
