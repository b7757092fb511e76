import { completionText, readUsage, type ReportedUsage } from "./openai-compatible.ts";

/** What the relay learned by the time the stream ended, however it ended. */
export interface StreamOutcome {
  usage: ReportedUsage | undefined;
  modelAnswered: string | null;
  /** Streamed content, to estimate completion tokens when no usage arrived. */
  text: string;
  /** How it ended: upstream sent [DONE], upstream broke off or ended early, or the client went away. */
  end: "done" | "upstream_error" | "client_gone";
}

export interface SseRelayOptions {
  upstream: ReadableStream<Uint8Array>;
  /** Drop the usage-only chunk the gateway asked for on the customer's behalf. */
  hideUsage: boolean;
  /** Called exactly once; the final [DONE] (or error event) is sent only after it resolves, i.e. after the row is committed. */
  onEnd: (outcome: StreamOutcome) => Promise<void>;
  /** Aborts the upstream request (the client disconnected). */
  abortUpstream: () => void;
  /** Called on every upstream chunk (restarts the idle timeout). */
  onActivity?: () => void;
  /** Message of the error event when the upstream fails mid-stream. */
  upstreamErrorMessage: () => string;
}

const encoder = new TextEncoder();
const EVENT_END = /\r?\n\r?\n/;

/**
 * Passes upstream server-sent events through as they arrive. Complete events are inspected for usage,
 * the answering model and content; a chunk that holds only whole events and needs no change is
 * forwarded as the very bytes received.
 */
export function createSseRelay(opts: SseRelayOptions): ReadableStream<Uint8Array> {
  const reader = opts.upstream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let usage: ReportedUsage | undefined;
  let modelAnswered: string | null = null;
  let text = "";
  let ended = false;

  async function end(how: StreamOutcome["end"]): Promise<void> {
    if (ended) return;
    ended = true;
    await opts.onEnd({ usage, modelAnswered, text, end: how });
  }

  /** Inspects one event; returns false when it must not be forwarded. */
  function inspect(event: string): boolean | "done" {
    let data = "";
    for (const line of event.split(/\r?\n/)) {
      if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(line.startsWith("data: ") ? 6 : 5);
    }
    if (data === "") return true;
    if (data.trim() === "[DONE]") return "done";
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return true;
    }
    if (typeof payload.model === "string") modelAnswered = payload.model;
    text += completionText(payload);
    const u = readUsage(payload.usage);
    if (!u) return true;
    usage = u;
    const choices = payload.choices;
    return !(opts.hideUsage && Array.isArray(choices) && choices.length === 0);
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch {
            if (ended) return; // the client left; cancel() already recorded
            await end("upstream_error");
            controller.enqueue(encoder.encode(errorEvent(opts.upstreamErrorMessage())));
            controller.close();
            return;
          }
          opts.onActivity?.();
          if (chunk.done) {
            buffered += decoder.decode();
            if (buffered.trim() !== "") inspect(buffered);
            await end("upstream_error");
            const tail = buffered.trim() === "" ? "" : `${buffered}\n\n`;
            controller.enqueue(encoder.encode(tail + errorEvent("The upstream stream ended before [DONE]; the response may be incomplete.")));
            controller.close();
            return;
          }
          const before = buffered;
          buffered += decoder.decode(chunk.value, { stream: true });
          let out = "";
          let changed = before !== "";
          let match: RegExpExecArray | null;
          while ((match = EVENT_END.exec(buffered))) {
            const eventEnd = match.index + match[0].length;
            const event = buffered.slice(0, eventEnd);
            buffered = buffered.slice(eventEnd);
            const verdict = inspect(event);
            if (verdict === "done") {
              if (out) controller.enqueue(encoder.encode(out));
              await end("done");
              controller.enqueue(encoder.encode(event));
              controller.close();
              void reader.cancel().catch(() => {});
              return;
            }
            if (verdict) out += event;
            else changed = true;
          }
          if (buffered !== "") changed = true;
          if (!changed) {
            controller.enqueue(chunk.value);
            return;
          }
          if (out) {
            controller.enqueue(encoder.encode(out));
            return;
          }
        }
      },
      async cancel() {
        opts.abortUpstream();
        await end("client_gone");
      },
    },
    { highWaterMark: 0 },
  );
}

export function errorEvent(message: string): string {
  return `data: ${JSON.stringify({ error: { message, type: "upstream_error", param: null, code: "upstream_error" } })}\n\n`;
}
