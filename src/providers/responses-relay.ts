// Relays a Responses API event stream. It has no [DONE]: its last event (response.completed, .incomplete
// or .failed) carries the usage. Everything before that event goes out as the bytes received; the
// terminal event is held until the row is committed, like chat's [DONE].
import type { ReportedUsage } from "./openai-compatible.ts";

export interface ResponsesOutcome {
  usage: ReportedUsage | undefined;
  responseId: string | null;
  modelAnswered: string | null;
  /** Text deltas streamed, to estimate output tokens when no usage arrived. */
  text: string;
  end: "done" | "upstream_error" | "client_gone";
}

export interface ResponsesRelayOptions {
  upstream: ReadableStream<Uint8Array>;
  /** Called once; the terminal event is sent only after it resolves. A rejection is sent as an error event instead. */
  onEnd: (outcome: ResponsesOutcome) => Promise<void>;
  abortUpstream: () => void;
  onActivity?: () => void;
  upstreamErrorMessage: () => string;
}

const TERMINAL = ['"response.completed"', '"response.incomplete"', '"response.failed"'].map((s) => Buffer.from(s));
const LF_LF = Buffer.from("\n\n");
const LF_CR_LF = Buffer.from("\n\r\n");

/** Where the event containing byte `before` (or the last complete event, without it) ends: 0 if none. */
function eventBoundary(buf: Buffer, before = buf.length): number {
  const lf = buf.lastIndexOf(LF_LF, before - 2);
  const crlf = buf.lastIndexOf(LF_CR_LF, before - 3);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 3);
}
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
  return {
    promptTokens: input,
    completionTokens: output,
    cachedTokens: count((u.input_tokens_details as Record<string, unknown> | undefined)?.cached_tokens),
    reasoningTokens: count((u.output_tokens_details as Record<string, unknown> | undefined)?.reasoning_tokens),
  };
}

function errorEvent(message: string, code: string): string {
  return `event: error\ndata: ${JSON.stringify({ type: "error", code, message, param: null })}\n\n`;
}

export function createResponsesRelay(opts: ResponsesRelayOptions): ReadableStream<Uint8Array> {
  const reader = opts.upstream.getReader();
  const sent: Uint8Array[] = []; // what went out, for estimating if no usage ever arrives
  const held: Uint8Array[] = []; // from the terminal event on
  let partial: Uint8Array = new Uint8Array(0); // an event not yet complete: forwarded once it is
  let ended = false;

  async function end(how: ResponsesOutcome["end"]): Promise<string | null> {
    if (ended) return null;
    ended = true;
    const tail = Buffer.concat(held).toString("utf8");
    let usage: ReportedUsage | undefined;
    let responseId: string | null = null;
    let modelAnswered: string | null = null;
    for (const event of tail.split(/\r?\n\r?\n/)) {
      const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (!data) continue;
      try {
        const response = (JSON.parse(data) as { response?: Record<string, unknown> }).response;
        if (!response) continue;
        usage = readResponsesUsage(response) ?? usage;
        if (typeof response.id === "string") responseId = response.id;
        if (typeof response.model === "string") modelAnswered = response.model;
      } catch {}
    }
    let text = "";
    if (!usage) {
      for (const m of Buffer.concat(sent).toString("utf8").matchAll(DELTA)) {
        try {
          text += JSON.parse(`"${m[1]}"`) as string;
        } catch {}
      }
    }
    try {
      await opts.onEnd({ usage, responseId, modelAnswered, text, end: how });
      return null;
    } catch (err) {
      const e = err as { message?: string; code?: string };
      return errorEvent(e.message ?? "The gateway hit an internal error.", e.code ?? "internal_error");
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
            controller.write(errorEvent(opts.upstreamErrorMessage(), "upstream_error"));
            return controller.close();
          }
          opts.onActivity?.();
          if (chunk.done) {
            const terminal = held.length > 0;
            const failed = await end(terminal ? "done" : "upstream_error");
            if (failed) controller.write(failed);
            else if (terminal) for (const h of held) controller.write(h);
            else controller.write(Buffer.concat([partial, Buffer.from(errorEvent("The upstream stream ended before the response completed; it may be incomplete.", "upstream_error"))]));
            return controller.close();
          }
          if (held.length > 0) {
            held.push(chunk.value);
            continue;
          }
          const value = partial.length > 0 ? Buffer.concat([partial, chunk.value]) : chunk.value;
          const buf = Buffer.from(value.buffer, value.byteOffset, value.length);
          const at = Math.min(...TERMINAL.map((t) => buf.indexOf(t)).filter((i) => i !== -1));
          // Complete events before the terminal one (or all of them) go out; an incomplete one waits.
          const start = Number.isFinite(at) ? eventBoundary(buf, at) : eventBoundary(buf);
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
