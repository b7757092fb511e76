// The Responses API's event stream: it has no [DONE]; its last event (response.completed, .incomplete
// or .failed) carries the usage and is held until the row is committed.
import { eventData, firstOf, jsonStrings } from "../../sse.ts";
import type { StreamFormat } from "../relay.ts";
import type { ReportedUsage } from "../../usage/reported.ts";

const DELTA = /"type":"response\.output_text\.delta"[^\n]*?"delta":"((?:[^"\\]|\\.)*)"/g;

/** Usage of a Responses API answer (the `response` object of its terminal event, or the whole JSON answer). */
export function readResponsesUsage(response: Record<string, unknown> | undefined): ReportedUsage | undefined {
  const u = response?.usage as Record<string, unknown> | null | undefined;
  if (!u || typeof u !== "object" || (u.input_tokens === undefined && u.output_tokens === undefined)) return undefined;
  const count = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null);
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === null || output === null) {
    return { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null, suspect: JSON.stringify({ input_tokens: u.input_tokens, output_tokens: u.output_tokens }).slice(0, 200) };
  }
  const items = response?.output;
  const webSearches = Array.isArray(items) ? items.filter((o) => (o as { type?: unknown } | null)?.type === "web_search_call").length : 0;
  return {
    promptTokens: input,
    completionTokens: output,
    cachedTokens: count((u.input_tokens_details as Record<string, unknown> | undefined)?.cached_tokens),
    reasoningTokens: count((u.output_tokens_details as Record<string, unknown> | undefined)?.reasoning_tokens),
    ...(webSearches > 0 ? { webSearches } : {}),
  };
}

/** The ids of a Responses API answer's output items (what a later input can reference). */
export function outputItemIds(response: Record<string, unknown> | undefined): string[] {
  const output = response?.output;
  if (!Array.isArray(output)) return [];
  return output.flatMap((o) => (o && typeof o === "object" && typeof (o as { id?: unknown }).id === "string" ? [(o as { id: string }).id] : []));
}

const HELD = ['"response.completed"', '"response.incomplete"', '"response.failed"'].map((s) => Buffer.from(s));

/** The Responses API's stream: its terminal event (and anything after it) waits for the row. */
export const RESPONSES_STREAM: StreamFormat = {
  find: (bytes, from) => firstOf(bytes, HELD, from),
  inspect: () => "hold",
  generated: (events) => jsonStrings(events, DELTA),
  summarize(sent, held) {
    let usage: ReportedUsage | undefined;
    let responseId: string | null = null;
    let modelAnswered: string | null = null;
    let itemIds: string[] = [];
    for (const data of eventData(held)) {
      const response = data.response as Record<string, unknown> | undefined;
      if (!response || typeof response !== "object") continue;
      usage = readResponsesUsage(response) ?? usage;
      itemIds = outputItemIds(response);
      if (typeof response.id === "string") responseId = response.id;
      if (typeof response.model === "string") modelAnswered = response.model;
    }
    return { usage, responseId, modelAnswered, text: usage ? "" : sent.generatedText(), itemIds };
  },
  errorEvent: (message, code) => `event: error\ndata: ${JSON.stringify({ type: "error", code, message, param: null })}\n\n`,
  cutShort: "The upstream stream ended before the response completed; it may be incomplete.",
};
