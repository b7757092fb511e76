// AWS's binary event stream (application/vnd.amazon.eventstream, Bedrock's streams) read with Smithy's
// maintained codec: frames split and checked (lengths, CRCs) by it, each event's JSON handed to a step
// that turns it into server-sent events for the customer's API relay.
import { parseData } from "./sse.ts";

// The codec costs about 5 ms to load: it is loaded with the first Bedrock stream, not at every start.
type Smithy = typeof import("@smithy/core/event-streams") & typeof import("@smithy/core/serde");
let smithy: Smithy | undefined;
const codecModules = (): Smithy => (smithy ??= { ...require("@smithy/core/event-streams"), ...require("@smithy/core/serde") } as Smithy);

/** One event (its `:event-type`) and its JSON payload, as the events to send (already encoded). */
export type AwsEventStep = (type: string, payload: Record<string, unknown>) => string[];

/** An error event in chat's stream format: the relay reports the answer as incomplete. */
function errorEvent(type: string, payload: Record<string, unknown> | undefined): string {
  const message = typeof payload?.message === "string" ? payload.message : `The upstream reported ${type || "an error"}.`;
  return `data: ${JSON.stringify({ error: { message, type: "upstream_error", param: null, code: type || "upstream_error" } })}\n\n`;
}

/**
 * The upstream's event stream through `step`, as a stream the relay reads like a provider's own SSE: it
 * ends when the upstream ends, errors when the upstream breaks off or sends a damaged frame; an
 * exception message becomes an error event; cancelling it cancels the upstream.
 */
export function transformAwsEvents(upstream: ReadableStream<Uint8Array>, step: AwsEventStep): ReadableStream<Uint8Array> {
  const { EventStreamCodec, getChunkedStream, fromUtf8, toUtf8 } = codecModules();
  const reader = upstream.getReader();
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const encoder = new TextEncoder();
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  const frames = getChunkedStream(bytes())[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await frames.next(); // a truncated or damaged frame errors this stream
        if (done) return controller.close();
        const message = codec.decode(value);
        const header = (name: string) => {
          const v = message.headers[name]?.value;
          return typeof v === "string" ? v : "";
        };
        const payload = parseData(toUtf8(message.body));
        const out = header(":message-type") === "event" ? step(header(":event-type"), payload ?? {}) : [errorEvent(header(":exception-type") || header(":error-code"), payload)];
        if (out.length > 0) {
          controller.enqueue(encoder.encode(out.join("")));
          return;
        }
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
