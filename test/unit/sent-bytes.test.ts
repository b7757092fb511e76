// What a relay keeps of a stream it sent, for an estimate when no usage came: the generated text of every
// event whatever the sizes of the chunks it went out in (one event per chunk, many, one bigger than the
// fold), the start of the first chunk, the byte count, and never the chunks themselves.
import { describe, expect, test } from "bun:test";
import { SentBytes } from "../../src/surfaces/sent-bytes.ts";
import { chatText } from "../../src/surfaces/chat/relay.ts";

const enc = new TextEncoder();
const event = (i: number) => `data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"tök${i} "}}]}\n\n`;

/** Splits `events` (whole events) into chunks of `per` events each. */
function chunks(events: string[], per: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < events.length; i += per) out.push(enc.encode(events.slice(i, i + per).join("")));
  return out;
}

describe("SentBytes", () => {
  const events = Array.from({ length: 300 }, (_, i) => event(i));
  const expected = events.map((_, i) => `tök${i} `).join("");

  for (const per of [1, 7, 40, 300]) {
    test(`the generated text of 300 events sent ${per} per chunk`, () => {
      const sent = new SentBytes(chatText);
      const parts = chunks(events, per);
      for (const c of parts) sent.push(c);
      expect(sent.generatedText()).toBe(expected);
      expect(sent.bytes).toBe(parts.reduce((n, c) => n + c.byteLength, 0));
      expect(sent.firstText(4096)).toStartWith('data: {"id":"c","model":"gpt-4o-mini"');
    });
  }

  test("chunks are copied, not kept: changing one after it was pushed changes nothing", () => {
    const sent = new SentBytes(chatText);
    const first = enc.encode(event(1));
    const second = enc.encode(event(2));
    sent.push(first);
    sent.push(second);
    first.fill(32);
    second.fill(32);
    expect(sent.generatedText()).toBe("tök1 tök2 ");
    expect(sent.firstText(12)).toBe('data: {"id":');
  });

  test("text read before the end is not read again", () => {
    const sent = new SentBytes(chatText);
    for (const c of chunks(events.slice(0, 100), 3)) sent.push(c);
    const before = sent.generatedText();
    for (const c of chunks(events.slice(100), 5)) sent.push(c);
    expect(before).toBe(events.slice(0, 100).map((_, i) => `tök${i} `).join(""));
    expect(sent.generatedText()).toBe(expected);
  });
});
