import { completionText, readUsage } from "../openai-usage.ts";
import { EVENT_END, eventsEnd, firstEventEnd, parseEvent } from "../../sse.ts";
import type { ReportedUsage } from "../../usage/reported.ts";
import { tooLongMessage, type RelayBase } from "../relay.ts";

/** What the relay learned by the time the stream ended, however it ended. */
export interface StreamOutcome {
  usage: ReportedUsage | undefined;
  modelAnswered: string | null;
  /** Streamed content, to estimate completion tokens when no usage arrived ("" when usage did). */
  text: string;
  /** How it ended: upstream sent [DONE], upstream broke off or ended early, or the client went away. */
  end: "done" | "upstream_error" | "client_gone";
  /** Bytes sent to the client before the end (the final event excluded). */
  bytesOut: number;
}

export interface SseRelayOptions extends RelayBase {
  /** Drop the usage-only chunk the gateway asked for on the customer's behalf. */
  hideUsage: boolean;
  /**
   * Called exactly once; the final [DONE] (or error event) is sent only after it resolves, i.e. after
   * the row is committed. When it rejects (the row could not be written) the stream ends with an
   * error event carrying the rejection instead of [DONE].
   */
  onEnd: (outcome: StreamOutcome) => Promise<void>;
  /** True once the client has gone away (its request signal aborted). */
  clientGone?: () => boolean;
}

const HAS_USAGE = /"usage"\s*:\s*\{/;
const USAGE_BYTES = Buffer.from('"usage"');
const DONE_BYTES = Buffer.from("[DONE]");
const MODEL = /"model"\s*:\s*"([^"\\]*)"/;

/**
 * How many leading bytes of a network chunk can go to the client untouched, without being decoded:
 * the whole events before the first one that may carry usage or [DONE] (found with native byte
 * searches). 0 when the chunk starts with such an event or holds no complete event.
 */
function plainPrefix(chunk: Uint8Array): number {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  const usageAt = buf.indexOf(USAGE_BYTES);
  const doneAt = buf.indexOf(DONE_BYTES);
  const special = usageAt === -1 ? doneAt : doneAt === -1 ? usageAt : Math.min(usageAt, doneAt);
  const limit = special === -1 ? buf.length : special;
  return eventsEnd(buf, limit);
}

/**
 * Passes upstream server-sent events through as they arrive, written straight to the client socket
 * (a Bun direct stream: no queue, no copies). Complete events are scanned for the answering model and
 * usage; only events that carry usage are parsed. A chunk that holds only whole events and needs no
 * change is forwarded as the very bytes received.
 */
export function createSseRelay(opts: SseRelayOptions): ReadableStream<Uint8Array> {
  // Bun's reader also has readMany(), which TypeScript's DOM types do not know.
  const reader = opts.upstream.getReader() as ReadableStreamDefaultReader<Uint8Array> & {
    readMany(): Promise<Bun.ReadableStreamDefaultReadManyResult<Uint8Array>> | Bun.ReadableStreamDefaultReadManyResult<Uint8Array>;
  };
  const decoder = new TextDecoder();
  let buffered = "";
  let usage: ReportedUsage | undefined;
  let modelAnswered: string | null = null;
  // Events (and raw chunks passed through unread) kept until usage arrives, to estimate tokens if it never does.
  let events: string[] = [];
  let rawChunks: Uint8Array[] = [];
  let ended = false;
  let bytesOut = 0;
  let received = 0;
  const maxBytes = opts.maxBytes ?? Infinity;

  /** Settles the stream's record; returns the error event to send instead of [DONE] if it failed. */
  async function end(how: StreamOutcome["end"]): Promise<string | null> {
    if (ended) return null;
    ended = true;
    let text = "";
    if (!usage) {
      for (const raw of rawChunks) events.push(...new TextDecoder().decode(raw).split(EVENT_END));
      for (const event of events) {
        try {
          text += completionText(JSON.parse(parseEvent(event).data) as Record<string, unknown>);
        } catch {}
      }
    }
    events = [];
    rawChunks = [];
    try {
      await opts.onEnd({ usage, modelAnswered, text, end: how, bytesOut });
      return null;
    } catch (err) {
      const e = err as { message?: string; type?: string; code?: string };
      return errorEvent(e.message ?? "The gateway hit an internal error.", e.code ?? "internal_error", e.type ?? "server_error");
    }
  }

  /** Looks at one complete event; "drop" when it must not reach the client. */
  function inspect(event: string): "keep" | "drop" | "done" {
    // Most events are content: once the model is known, two substring searches clear them.
    if (modelAnswered !== null && event.indexOf('"usage"') === -1 && event.indexOf("[DONE]") === -1) {
      if (!usage) events.push(event);
      return "keep";
    }
    const data = parseEvent(event).data;
    if (data === "") return "keep";
    if (data.trim() === "[DONE]") return "done";
    if (modelAnswered === null) {
      const m = MODEL.exec(data);
      if (m) modelAnswered = m[1]!;
    }
    if (!HAS_USAGE.test(data)) {
      if (!usage) events.push(event);
      return "keep";
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return "keep";
    }
    const u = readUsage(payload.usage);
    if (!u) return "keep";
    usage = u;
    events = [];
    rawChunks = [];
    const choices = payload.choices;
    return opts.hideUsage && Array.isArray(choices) && choices.length === 0 ? "drop" : "keep";
  }

  return new ReadableStream({
    type: "direct",
    async pull(controller: ReadableStreamDirectController) {
      // Written bytes are flushed to the socket only when no further upstream data is ready at once:
      // chunks that arrive together leave together, a chunk followed by a pause is not held back.
      let unflushed = false;
      /** Writes without awaiting unless the socket pushes back (then the returned promise must be awaited). */
      const write = (data: string | Uint8Array): Promise<number> | undefined => {
        if (ended && opts.clientGone?.()) return undefined;
        unflushed = true;
        bytesOut += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
        const written = controller.write(data);
        return written instanceof Promise ? written : undefined;
      };
      const flush = async () => {
        if (!unflushed) return;
        unflushed = false;
        await controller.flush();
      };
      try {
        for (;;) {
          let batch: Bun.ReadableStreamDefaultReadManyResult<Uint8Array>;
          try {
            // Everything the upstream already delivered, synchronously; only an empty buffer means waiting.
            const ready = reader.readMany();
            if (ready instanceof Promise) await flush();
            batch = ready instanceof Promise ? await ready : ready;
          } catch {
            if (opts.clientGone?.()) return void (await end("client_gone"));
            await end("upstream_error");
            await write(errorEvent(opts.upstreamErrorMessage()));
            return controller.close();
          }
          opts.onActivity?.();
          for (let value of batch.value) {
            received += value.byteLength;
            if (received > maxBytes) {
              opts.abortUpstream();
              await end("upstream_error");
              await write(errorEvent(tooLongMessage(maxBytes), "upstream_response_too_large"));
              return controller.close();
            }
            // Fast path: whole ordinary events go out as the very bytes received; only what may carry
            // usage or [DONE] (normally the last few events) is decoded and inspected.
            if (buffered === "") {
              const plain = plainPrefix(value);
              if (plain > 0) {
                const head = plain === value.length ? value : value.subarray(0, plain);
                if (modelAnswered === null) modelAnswered = modelOf(head);
                if (!usage) rawChunks.push(head);
                await write(head);
                if (plain === value.length) continue;
                value = value.subarray(plain);
              }
            }
            const hadPartial = buffered !== "";
            buffered += decoder.decode(value, { stream: true });
            let out = "";
            let changed = hadPartial;
            let match: RegExpExecArray | null;
            while ((match = EVENT_END.exec(buffered))) {
              const eventEnd = match.index + match[0].length;
              const event = buffered.slice(0, eventEnd);
              buffered = buffered.slice(eventEnd);
              const verdict = inspect(event);
              if (verdict === "done") {
                if (out) await write(out);
                await flush(); // the content goes out while the row commits; only [DONE] waits for it
                const failed = await end("done");
                await write(failed ?? event);
                void reader.cancel().catch(() => {});
                return controller.close();
              }
              if (verdict === "keep") out += event;
              else changed = true;
            }
            if (buffered !== "") changed = true;
            if (!changed) await write(value);
            else if (out) await write(out);
          }
          if (batch.done) {
            buffered += decoder.decode();
            if (buffered.trim() !== "") inspect(buffered);
            await end("upstream_error");
            const tail = buffered.trim() === "" ? "" : `${buffered}\n\n`;
            await write(tail + errorEvent("The upstream stream ended before [DONE]; the response may be incomplete."));
            return controller.close();
          }
        }
      } catch {
        // Writing to a client that went away.
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

/** The model named in the first event of `bytes` (only that event is decoded). */
function modelOf(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const end = firstEventEnd(buf);
  const first = buf.toString("utf8", 0, Math.min(end === -1 ? buf.length : end, 4096));
  return MODEL.exec(first)?.[1] ?? null;
}

export function errorEvent(message: string, code = "upstream_error", type = "upstream_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}
