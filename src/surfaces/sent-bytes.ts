// What a relay sent to the client, kept small: a copy of the start of the first chunk (where a stream
// names its model), and the generated text, read from the events every two kilobytes (only whole events
// are ever sent), for an estimate when no usage comes. A long stream costs its text, not its bytes, and
// the chunks themselves are copied, never kept: a stream open for minutes holds one small buffer, not a
// socket read per chunk (objects that outlive a garbage collection's young generation cost a full one).
import { utf8 } from "../sse.ts";

/** Sent events are read for their text once this many bytes wait. */
const FOLD_BYTES = 2048;
/** How much of the first chunk is kept. */
const FIRST_BYTES = 4096;

export class SentBytes {
  private first: Uint8Array | undefined;
  private waiting: Uint8Array | undefined;
  private used = 0;
  private text = "";
  /** Bytes sent in all. */
  bytes = 0;

  /** `generated` reads the generated text out of whole events. */
  constructor(private readonly generated: (events: string) => string) {}

  push(chunk: Uint8Array): void {
    const n = chunk.byteLength;
    this.first ??= chunk.slice(0, FIRST_BYTES);
    this.bytes += n;
    if (this.used + n > FOLD_BYTES) {
      this.fold();
      if (n >= FOLD_BYTES) return void (this.text += this.generated(utf8(chunk)));
    }
    if (!this.waiting || this.waiting.length < this.used + n) {
      const grown = new Uint8Array(Math.min(FOLD_BYTES, Math.max(512, 2 * (this.used + n))));
      if (this.waiting) grown.set(this.waiting.subarray(0, this.used));
      this.waiting = grown;
    }
    this.waiting.set(chunk, this.used);
    this.used += n;
  }

  /** The first chunk sent (at most `max` bytes of it, up to 4 KB), as text. */
  firstText(max: number): string {
    return this.first ? utf8(this.first, 0, Math.min(max, this.first.length)) : "";
  }

  /** The text generated in everything sent. */
  generatedText(): string {
    this.fold();
    return this.text;
  }

  private fold(): void {
    if (this.used === 0) return;
    this.text += this.generated(utf8(this.waiting!, 0, this.used));
    this.used = 0;
  }
}
