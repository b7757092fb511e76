// What the cache needs of an inbound API that streams: its stream replayed from a cached answer, and a
// relayed stream collected into the answer it amounts to (so a streamed miss fills the cache too).
import { splitEvents, type SseEvent } from "../upstreams/translate/sse.ts";

export interface StreamCollector {
  feed(event: SseEvent): void;
  /** The whole answer in the API's JSON shape, or undefined when the stream did not complete. */
  answer(): Record<string, unknown> | undefined;
}

export interface CacheFormat {
  /** The events of a cached answer (JSON in this API), as a stream of this API; usage only when asked (chat). */
  replay(answer: Record<string, unknown>, wantsUsage: boolean): string;
  collector(): StreamCollector;
}

/** The upstream's bytes unchanged, each complete event also handed to `collector`. */
export function tapEvents(upstream: ReadableStream<Uint8Array>, collector: StreamCollector): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = "";
  return upstream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        buffer += decoder.decode(chunk, { stream: true });
        const { events, rest } = splitEvents(buffer);
        buffer = rest;
        for (const e of events) collector.feed(e);
      },
      flush() {
        for (const e of splitEvents(`${buffer}${decoder.decode()}\n\n`).events) collector.feed(e);
      },
    }),
  );
}
