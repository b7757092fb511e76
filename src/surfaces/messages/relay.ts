// Anthropic's Messages API answers: usage from a message (message_start's, updated by message_delta's
// when streamed), and the stream format whose message_delta and message_stop are held until the row
// is committed.
import { eventData, firstOf, jsonStrings } from "../../sse.ts";
import type { StreamFormat } from "../relay.ts";
import type { ReportedUsage } from "../../usage/reported.ts";

const TEXT = /"type":"(?:text_delta","text|input_json_delta","partial_json)":"((?:[^"\\]|\\.)*)"/g;
const START = '"type":"message_start"';

/**
 * Anthropic usage as the gateway records it: the prompt counts cache reads and writes (Anthropic's
 * input_tokens leaves them out), so prompt tokens mean the same for every API.
 */
export function readAnthropicUsage(value: unknown): ReportedUsage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const u = value as Record<string, unknown>;
  if (u.input_tokens === undefined && u.output_tokens === undefined) return undefined;
  const count = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null);
  const [input, output, read, written] = [u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens].map(count);
  if (input === null || output === null || read === null || written === null) {
    return { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null, suspect: JSON.stringify({ input_tokens: u.input_tokens, output_tokens: u.output_tokens }).slice(0, 200) };
  }
  const searches = count((u.server_tool_use as Record<string, unknown> | null | undefined)?.web_search_requests) ?? 0;
  return { promptTokens: input! + read! + written!, completionTokens: output!, cachedTokens: read!, reasoningTokens: null, cacheWriteTokens: written!, ...(searches > 0 ? { webSearches: searches } : {}) };
}

export function anthropicErrorEvent(message: string, type = "api_error"): string {
  return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type, message } })}\n\n`;
}

const START_MARK = Buffer.from(START);
const HELD = ['"type":"message_delta"', '"type":"message_stop"'].map((s) => Buffer.from(s));
const MARKS = [START_MARK, ...HELD];

/** Texts and tool inputs streamed, unescaped: what an estimate counts. */
export function messagesText(events: string): string {
  return jsonStrings(events, TEXT);
}

/** Anthropic's Messages stream: message_start is read as it passes; from message_delta on, everything waits for the row. */
export function messagesStream(): StreamFormat {
  let message: Record<string, unknown> | undefined;
  return {
    find: (bytes, from) => firstOf(bytes, message ? HELD : MARKS, from),
    inspect(event) {
      if (message || !event.includes(START)) return "hold";
      const m = eventData(event)[0]?.message;
      message = m && typeof m === "object" ? (m as Record<string, unknown>) : {};
      return "keep";
    },
    generated: messagesText,
    summarize(sent, held) {
      let usage = message?.usage && typeof message.usage === "object" ? { ...(message.usage as Record<string, unknown>) } : {};
      let finished = false;
      for (const data of eventData(held)) {
        if (data.type !== "message_delta") continue;
        finished = true;
        if (data.usage && typeof data.usage === "object") usage = { ...usage, ...(data.usage as Record<string, unknown>) };
      }
      // Without message_delta, the usage is message_start's (a one-token placeholder output): estimate instead.
      const reported = finished ? readAnthropicUsage(usage) : undefined;
      return { usage: reported, modelAnswered: typeof message?.model === "string" ? message.model : null, text: reported ? "" : sent.generatedText() };
    },
    errorEvent: (message) => anthropicErrorEvent(message),
    cutShort: "The upstream stream ended before the response completed; it may be incomplete.",
  };
}
