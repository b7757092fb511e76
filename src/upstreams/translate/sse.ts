// Server-sent events re-encoded event by event: what the translators between API shapes run on.
import { EVENT_END, parseEvent } from "../../sse.ts";

export interface SseEvent {
  /** The `event:` name, when the stream names its events (Anthropic's does, OpenAI's chat does not). */
  event: string | null;
  data: string;
}

/** Maps one upstream event to the events to send (already encoded); keeps its own state. `end`: what to send when the upstream ends cleanly (a stream without a closing event). */
export type EventStep = ((event: SseEvent) => string[]) & { end?: () => string[] };

/** Parses the complete events at the start of `buffer`; returns them and what is left. */
export function splitEvents(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const re = new RegExp(EVENT_END.source, "g");
  let start = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(buffer))) {
    const block = buffer.slice(start, m.index);
    start = m.index + m[0].length;
    if (/^data:/m.test(block)) events.push(parseEvent(block));
  }
  return { events, rest: buffer.slice(start) };
}

/**
 * The upstream's events through `step`, as a stream the customer's API relay reads like a provider's
 * own: it ends when the upstream ends and errors when the upstream breaks off (the relay then tells
 * the customer the answer is incomplete); cancelling it cancels the upstream.
 */
export function transformEvents(upstream: ReadableStream<Uint8Array>, step: EventStep): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read(); // a read error errors this stream too
        buffer += done ? decoder.decode() + "\n\n" : decoder.decode(value, { stream: true });
        const { events, rest } = splitEvents(buffer);
        buffer = rest;
        const out = events.flatMap(step).join("") + (done && step.end ? step.end().join("") : "");
        if (out) controller.enqueue(encoder.encode(out));
        if (done) return controller.close();
        if (out) return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** An event in Anthropic's format: named, with the name repeated as `type` in the data. */
export function anthropicEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The JSON of an event's data, or undefined when it is not a JSON object. */
export function parseData(data: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
