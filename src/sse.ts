// Server-sent events, the one scanner every relay and translator uses: where events end in the bytes
// (native searches on the upstream's own Uint8Arrays, nothing decoded, no Buffer made), an event's data,
// a text's events.

const LF_LF = Buffer.from("\n\n");
const LF_CR_LF = Buffer.from("\n\r\n");
// Buffer's searches work on any Uint8Array; calling them directly avoids making a Buffer of each chunk
// (reading a fresh Uint8Array's .buffer costs more than the search).
const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: Uint8Array, byteOffset?: number) => number;
const lastIndexOf = Buffer.prototype.lastIndexOf as (this: Uint8Array, value: Uint8Array, byteOffset?: number) => number;
const toUtf8 = Buffer.prototype.toString as (this: Uint8Array, encoding: "utf8", start?: number, end?: number) => string;

/** A blank line, LF or CRLF: where one event ends. */
export const EVENT_END = /\r?\n\r?\n/;

/** Where `needle` first occurs in `bytes` at or after `from`, or -1. */
export function find(bytes: Uint8Array, needle: Uint8Array, from = 0): number {
  return indexOf.call(bytes, needle, from);
}

/** The first place any of `markers` occurs at or after `from`, or -1. */
export function firstOf(bytes: Uint8Array, markers: readonly Uint8Array[], from: number): number {
  let first = -1;
  for (const m of markers) {
    const at = find(bytes, m, from);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

/** `bytes[start, end)` as text. */
export function utf8(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return toUtf8.call(bytes, "utf8", start, end);
}

/** Whether `bytes` ends with a blank line (the end of an event). */
export function endsWithEvent(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 2 && bytes[n - 1] === 10 && (bytes[n - 2] === 10 || (n >= 3 && bytes[n - 2] === 13 && bytes[n - 3] === 10));
}

/** The end of the last complete event that starts at or after `from` and ends by byte `before`; `from` if none. */
export function eventsEnd(bytes: Uint8Array, from: number, before: number): number {
  const lf = before - 2 >= from ? lastIndexOf.call(bytes, LF_LF, before - 2) : -1;
  const crlf = before - 3 >= from ? lastIndexOf.call(bytes, LF_CR_LF, before - 3) : -1;
  return Math.max(from, lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 3);
}

/** The end (blank line included) of the event that holds byte `at`, or -1 while it is incomplete. */
export function eventEndAfter(bytes: Uint8Array, at: number): number {
  const lf = indexOf.call(bytes, LF_LF, at);
  const crlf = indexOf.call(bytes, LF_CR_LF, at);
  if (lf === -1) return crlf === -1 ? -1 : crlf + 3;
  return crlf === -1 || lf + 2 <= crlf + 3 ? lf + 2 : crlf + 3;
}

/** The JSON strings `pattern` (global, its first group a string's escaped body) finds in `text`, unescaped and joined. */
export function jsonStrings(text: string, pattern: RegExp): string {
  const out: string[] = [];
  for (const m of text.matchAll(pattern)) {
    try {
      out.push(JSON.parse(`"${m[1]}"`) as string);
    } catch {}
  }
  return out.join(""); // flat: a stream keeps this for its life, and a rope of many pieces costs a node per piece
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
