// What a relay sent to the client, kept small: the first chunk as it was (where a stream names its model),
// and the generated text, read from the events every few kilobytes (only whole events are ever sent), for
// an estimate when no usage comes. A long stream costs its text, not its bytes.
import { utf8 } from "../sse.ts";

/** Sent events are read for their text once this many bytes wait. */
const FOLD_BYTES = 8192;

export class SentBytes {
  private first: Uint8Array | undefined;
  private chunks: Uint8Array[] = [];
  private waiting = 0;
  private text = "";
  /** Bytes sent in all. */
  bytes = 0;

  /** `generated` reads the generated text out of whole events. */
  constructor(private readonly generated: (events: string) => string) {}

  push(chunk: Uint8Array): void {
    this.first ??= chunk;
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    this.waiting += chunk.byteLength;
    if (this.waiting >= FOLD_BYTES) this.fold();
  }

  /** The first chunk sent (at most `max` bytes of it), as text. */
  firstText(max: number): string {
    return this.first ? utf8(this.first, 0, Math.min(max, this.first.length)) : "";
  }

  /** The text generated in everything sent. */
  generatedText(): string {
    this.fold();
    return this.text;
  }

  private fold(): void {
    if (this.chunks.length === 0) return;
    this.text += this.generated(utf8(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)));
    this.chunks = [];
    this.waiting = 0;
  }
}
