// The one relay every streaming API uses. Upstream server-sent events go to the client as the very bytes
// received, written straight to the socket (a Bun direct stream: no queue, no copies); only an event that
// holds one of its format's markers is decoded and shown to the format, which keeps it, drops it, or
// holds it (and all that follows) until the usage row is committed. Chunks are pushed by the body source
// as they are read (the gateway's HTTP client, or a translated stream); what one socket read brought
// leaves with one flush, and a client that pushes back pauses the upstream until its socket drains.
import { endsWithEvent, eventEndAfter, eventsEnd, utf8 } from "../sse.ts";
import type { ReportedUsage } from "../usage/reported.ts";
import { SentBytes } from "./sent-bytes.ts";
import { streamSource, type BodySource } from "../upstreams/transport/body-source.ts";

/** What a surface reads from an answer or a finished stream. */
export interface StreamSummary {
  usage: ReportedUsage | undefined;
  modelAnswered: string | null;
  /** A Responses answer's id, and the ids of its output items. */
  responseId?: string | null;
  itemIds?: string[];
  /** Generated text, to estimate output tokens when no usage arrived. */
  text: string;
}

export interface RelayOutcome extends StreamSummary {
  /** How it ended: the stream's last event came, the upstream broke off or ended early, or the client went away. */
  end: "done" | "upstream_error" | "client_gone";
  /** Bytes sent to the client before the end (held events excluded). */
  bytesOut: number;
}

/**
 * What an event whose bytes hold a marker becomes: sent, never sent, held with everything after it until
 * the upstream ends, or held as the stream's last event (the upstream is not read further).
 */
export type Verdict = "keep" | "drop" | "hold" | "last";

/** One inbound API's event stream. A format may keep state: make one per stream. */
export interface StreamFormat {
  /** Where the first event worth decoding may be, at or after `from` (a byte search); -1 if none. */
  find(bytes: Uint8Array, from: number): number;
  inspect(event: string): Verdict;
  /** The generated text in whole events as sent (read every few kilobytes; for an estimate when no usage came). */
  generated(events: string): string;
  /** At the end: usage, model and text from what was sent (decoded only if asked) and what was held. */
  summarize(sent: SentBytes, held: string): StreamSummary;
  errorEvent(message: string, code: string, type?: string): string;
  /** The error event's message when the upstream ends before the stream's last event. */
  cutShort: string;
}

/** What every relay is given besides its format. */
export interface RelayOptions {
  /** The upstream's body: a chunk source (the transport's), or a stream (a translated one). */
  upstream: BodySource | ReadableStream<Uint8Array>;
  /** Aborts the upstream request (the client disconnected). */
  abortUpstream: () => void;
  /** Called on every upstream chunk (restarts the idle timeout). */
  onActivity?: () => void;
  /** Message of the error event when the upstream fails mid-stream. */
  upstreamErrorMessage: () => string;
  /** A stream longer than this (bytes from the upstream) is cut off with an error event. */
  maxBytes?: number;
  /**
   * Called exactly once, however the stream ends; held events are sent only after it resolves (after the
   * row is committed), to the row's cost in nano-USD when it has one: the usage they carry gains `"cost"`
   * (USD, OpenRouter's convention). A rejection is sent as an error event instead of them.
   */
  onEnd: (outcome: RelayOutcome) => Promise<number | null | void>;
  /** True once the client has gone away (its request signal aborted). */
  clientGone?: () => boolean;
}

/** The error event's message for a stream cut off at GATEWAY_MAX_UPSTREAM_BYTES. */
export function tooLongMessage(maxBytes: number): string {
  return `The upstream stream passed ${maxBytes} bytes (GATEWAY_MAX_UPSTREAM_BYTES) and was cut off; the response is incomplete.`;
}

const EMPTY = new Uint8Array(0);
const USAGE_OBJECT = /"usage"\s*:\s*\{\s*/g;

/**
 * The held events with `"cost"` (USD) added to the last usage object among them, the one the stream ends
 * with (chat's usage chunk, Messages' message_delta, Responses' response.completed).
 */
export function withCost(held: Uint8Array, costNano: number | null | void): Uint8Array | string {
  if (costNano === null || costNano === undefined || held.length === 0) return held;
  const text = utf8(held);
  let at = -1;
  for (const m of text.matchAll(USAGE_OBJECT)) at = m.index + m[0].length;
  if (at === -1) return held;
  return `${text.slice(0, at)}"cost":${costNano / 1e9}${text[at] === "}" ? "" : ","}${text.slice(at)}`;
}
const concat = (parts: Uint8Array[]) => (parts.length === 1 ? parts[0]! : Buffer.concat(parts));

export function createRelay(opts: RelayOptions, format: StreamFormat): ReadableStream<Uint8Array> {
  const source = opts.upstream instanceof ReadableStream ? streamSource(opts.upstream) : opts.upstream;
  const sent = new SentBytes(format.generated);
  const held: Uint8Array[] = [];
  let holding = false;
  let partial = EMPTY; // an event not yet complete: looked at (and sent) once it is
  let ended = false;
  let received = 0;
  const maxBytes = opts.maxBytes ?? Infinity;

  /** Settles the stream's record: the error event to send instead of the held events if it failed, else the row's cost. */
  async function end(how: RelayOutcome["end"]): Promise<{ failed: string } | { cost: number | null | void }> {
    if (ended) return { cost: null };
    ended = true;
    let summary: StreamSummary = { usage: undefined, modelAnswered: null, text: "" };
    try {
      summary = format.summarize(sent, held.length > 0 ? utf8(concat(held)) : "");
    } catch {}
    try {
      return { cost: await opts.onEnd({ ...summary, end: how, bytesOut: sent.bytes }) };
    } catch (err) {
      const e = err as { message?: string; type?: string; code?: string };
      return { failed: format.errorEvent(e.message ?? "The gateway hit an internal error.", e.code ?? "internal_error", e.type) };
    }
  }

  return new ReadableStream({
    type: "direct",
    pull(controller: ReadableStreamDirectController) {
      return new Promise<void>((closed) => {
        let stopped = false; // the upstream's chunks are no longer looked at
        let unflushed = false;
        let pending: Promise<unknown> | undefined; // a write the client's socket pushed back on: the upstream waits
        const pushedBack = (p: Promise<unknown>) => {
          if (pending) return;
          source.pause();
          pending = p.then(
            () => {
              pending = undefined;
              source.resume();
            },
            () => gone(),
          );
        };
        /** Writes without waiting; a socket that pushes back pauses the upstream until it drains. */
        const write = (data: string | Uint8Array) => {
          if (ended && opts.clientGone?.()) return;
          unflushed = true;
          const written = controller.write(data);
          if (written instanceof Promise) pushedBack(written);
        };
        const flush = () => {
          if (!unflushed) return;
          unflushed = false;
          const flushed = controller.flush();
          if (flushed instanceof Promise) pushedBack(flushed);
        };
        const pass = (bytes: Uint8Array) => {
          sent.push(bytes);
          write(bytes);
        };
        /** The client went away (a write failed, or its request was aborted). */
        const gone = () => {
          if (stopped) return;
          stopped = true;
          opts.abortUpstream();
          source.cancel();
          void end("client_gone").then(() => closed());
        };

        /** Sends what can go now of `bytes` (the previous partial event first); "last" when the last event came. */
        const take = (bytes: Uint8Array): "more" | "last" => {
          const len = bytes.length;
          let from = 0;
          for (;;) {
            const special = format.find(bytes, from);
            // Complete events before the marked one (or all complete events) go out as received.
            const plainEnd = special === -1 ? (endsWithEvent(bytes) ? len : eventsEnd(bytes, from, len)) : eventsEnd(bytes, from, special);
            if (plainEnd > from) pass(from === 0 && plainEnd === len ? bytes : bytes.subarray(from, plainEnd));
            from = plainEnd;
            if (special === -1) break;
            const eventEnd = eventEndAfter(bytes, special);
            if (eventEnd === -1) break;
            const verdict = format.inspect(utf8(bytes, from, eventEnd));
            if (verdict === "keep") pass(bytes.subarray(from, eventEnd));
            else if (verdict === "hold") {
              held.push(bytes.subarray(from));
              holding = true;
              partial = EMPTY;
              return "more";
            } else if (verdict === "last") {
              held.push(bytes.subarray(from, eventEnd));
              return "last";
            }
            from = eventEnd;
          }
          partial = from < len ? bytes.slice(from) : EMPTY;
          return "more";
        };

        /** Ends the stream: `tail` (or the error event the row's failure became) is its last write. */
        const finish = async (how: RelayOutcome["end"], tail: (cost: number | null | void) => string | Uint8Array) => {
          stopped = true;
          try {
            // What was sent goes out while the row commits; only the tail waits for it.
            if (pending) await pending;
            unflushed = false;
            await controller.flush();
          } catch {}
          const outcome = await end(how);
          try {
            write("failed" in outcome ? outcome.failed : tail(outcome.cost));
            if (pending) await pending;
            controller.close(); // sends what was written with the end of the body
          } catch {}
          closed();
        };

        source.listen({
          chunk(value) {
            if (stopped) return;
            try {
              opts.onActivity?.();
              received += value.byteLength;
              if (received > maxBytes) {
                opts.abortUpstream();
                source.cancel();
                return void finish("upstream_error", () => format.errorEvent(tooLongMessage(maxBytes), "upstream_response_too_large"));
              }
              if (holding) return void held.push(value);
              if (take(partial.length > 0 ? concat([partial, value]) : value) === "last") {
                source.drain();
                return void finish("done", (cost) => withCost(concat(held), cost));
              }
            } catch {
              gone(); // writing to a client that went away
            }
          },
          batch() {
            if (stopped) return;
            try {
              flush();
            } catch {
              gone();
            }
          },
          end(error) {
            if (stopped) return;
            if (error !== undefined) {
              if (opts.clientGone?.()) return gone();
              return void finish("upstream_error", () => format.errorEvent(opts.upstreamErrorMessage(), "upstream_error"));
            }
            if (holding) return void finish("done", (cost) => withCost(concat(held), cost));
            // An unterminated last event may still carry the usage; it goes out ahead of the error event.
            const rest = partial.length > 0 ? utf8(partial) : "";
            if (rest.trim() !== "" && format.find(partial, 0) !== -1) format.inspect(rest);
            void finish("upstream_error", () => (rest.trim() === "" ? "" : `${rest}\n\n`) + format.errorEvent(format.cutShort, "upstream_error"));
          },
        });
      });
    },
    async cancel() {
      opts.abortUpstream();
      source.cancel();
      await end("client_gone");
    },
  } satisfies Bun.DirectUnderlyingSource<Uint8Array>);
}
