// Relays an event stream whose last events carry the usage (Responses' response.completed, Messages'
// message_delta + message_stop). Everything before them goes out as the bytes received; from the first
// such event on the stream is held until the usage row is committed, like chat's [DONE].
import { tooLongMessage, type RelayBase } from "./relay.ts";
import { eventsEnd } from "../sse.ts";
import type { ReportedUsage } from "../usage/reported.ts";

/** What a surface reads from a finished stream. */
export interface TailSummary {
  usage: ReportedUsage | undefined;
  modelAnswered: string | null;
  /** A Responses answer's id, and the ids of its output items. */
  responseId?: string | null;
  itemIds?: string[];
  /** Generated text, to estimate output tokens when no usage arrived. */
  text: string;
}

export interface TailOutcome extends TailSummary {
  end: "done" | "upstream_error" | "client_gone";
  /** Bytes sent to the client before the end (the held events excluded). */
  bytesOut: number;
}

/** One inbound API's stream format. */
export interface TailFormat {
  /** Byte markers of the first event that is held (searched in each chunk). */
  held: Buffer[];
  /** Reads usage, model and text from what was sent and what was held. */
  summarize(sent: string, held: string): TailSummary;
  /** The API's error event. */
  errorEvent(message: string, code: string): string;
}

export interface TailRelayOptions extends RelayBase {
  format: TailFormat;
  /** Called once; the held events are sent only after it resolves. A rejection is sent as an error event instead. */
  onEnd: (outcome: TailOutcome) => Promise<void>;
}

export function createTailRelay(opts: TailRelayOptions): ReadableStream<Uint8Array> {
  const { format } = opts;
  const reader = opts.upstream.getReader();
  const sent: Uint8Array[] = []; // what went out, for usage that came early and for estimating
  const held: Uint8Array[] = []; // from the first held event on
  let partial: Uint8Array = new Uint8Array(0); // an event not yet complete: forwarded once it is
  let ended = false;
  let received = 0;
  const maxBytes = opts.maxBytes ?? Infinity;

  async function end(how: TailOutcome["end"]): Promise<string | null> {
    if (ended) return null;
    ended = true;
    const summary = format.summarize(Buffer.concat(sent).toString("utf8"), Buffer.concat(held).toString("utf8"));
    try {
      await opts.onEnd({ ...summary, end: how, bytesOut: sent.reduce((n, c) => n + c.byteLength, 0) });
      return null;
    } catch (err) {
      const e = err as { message?: string; code?: string };
      return format.errorEvent(e.message ?? "The gateway hit an internal error.", e.code ?? "internal_error");
    }
  }

  return new ReadableStream({
    type: "direct",
    async pull(controller: ReadableStreamDirectController) {
      try {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch {
            await end("upstream_error");
            controller.write(format.errorEvent(opts.upstreamErrorMessage(), "upstream_error"));
            return controller.close();
          }
          opts.onActivity?.();
          if (!chunk.done && (received += chunk.value.byteLength) > maxBytes) {
            opts.abortUpstream();
            await end("upstream_error");
            controller.write(format.errorEvent(tooLongMessage(maxBytes), "upstream_response_too_large"));
            return controller.close();
          }
          if (chunk.done) {
            const terminal = held.length > 0;
            const failed = await end(terminal ? "done" : "upstream_error");
            if (failed) controller.write(failed);
            else if (terminal) for (const h of held) controller.write(h);
            else controller.write(Buffer.concat([partial, Buffer.from(format.errorEvent("The upstream stream ended before the response completed; it may be incomplete.", "upstream_error"))]));
            return controller.close();
          }
          if (held.length > 0) {
            held.push(chunk.value);
            continue;
          }
          const value = partial.length > 0 ? Buffer.concat([partial, chunk.value]) : chunk.value;
          const buf = Buffer.from(value.buffer, value.byteOffset, value.length);
          const at = Math.min(...format.held.map((t) => buf.indexOf(t)).filter((i) => i !== -1));
          // Complete events before the held one (or all of them) go out; an incomplete one waits.
          const start = Number.isFinite(at) ? eventsEnd(buf, at) : eventsEnd(buf);
          if (start > 0) {
            sent.push(value.subarray(0, start));
            await controller.write(value.subarray(0, start));
            await controller.flush();
          }
          if (Number.isFinite(at)) held.push(value.subarray(start));
          partial = Number.isFinite(at) ? new Uint8Array(0) : value.subarray(start);
        }
      } catch {
        opts.abortUpstream();
        await end("client_gone");
      }
    },
    async cancel() {
      opts.abortUpstream();
      await end("client_gone");
    },
  } satisfies Bun.DirectUnderlyingSource<Uint8Array>);
}
