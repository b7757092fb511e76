// Server-sent events, the one scanner every relay and translator uses: where complete events end in the
// bytes (native searches, nothing decoded), an event's data, a text's events.

const LF_LF = Buffer.from("\n\n");
const LF_CR_LF = Buffer.from("\n\r\n");

/** A blank line, LF or CRLF: where one event ends. */
export const EVENT_END = /\r?\n\r?\n/;

/** The end of the last complete event that ends before byte `before` (default: anywhere); 0 if none. */
export function eventsEnd(buf: Buffer, before = buf.length): number {
  const lf = buf.lastIndexOf(LF_LF, before - 2);
  const crlf = buf.lastIndexOf(LF_CR_LF, before - 3);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 3);
}

/** The end of the first event in `buf` (its blank line excluded), or -1. */
export function firstEventEnd(buf: Buffer): number {
  return buf.indexOf(LF_LF);
}

/** One event's `event:` name and `data:` lines (joined with newlines; one space after the colon dropped). */
export function parseEvent(block: string): { event: string | null; data: string } {
  let event: string | null = null;
  let data = "";
  let lines = 0;
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += (lines++ > 0 ? "\n" : "") + line.slice(line.startsWith("data: ") ? 6 : 5);
  }
  return { event, data };
}

/** The `data:` payloads of the events in `text`, parsed (events without JSON data, and [DONE], are skipped). */
export function eventData(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const block of text.split(EVENT_END)) {
    const data = parseEvent(block).data.trim();
    if (!data || data === "[DONE]") continue;
    try {
      const parsed = JSON.parse(data) as unknown;
      if (parsed && typeof parsed === "object") out.push(parsed as Record<string, unknown>);
    } catch {}
  }
  return out;
}
