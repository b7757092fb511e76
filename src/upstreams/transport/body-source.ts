// An upstream answer's body as a source of chunks pushed to one listener, synchronously as they arrive
// (no promise, no queue per chunk): what the relay reads a stream from. A source made from a
// ReadableStream (a translated stream, an answer fetched by `fetch`) reads it with readMany().

/** Where a body's chunks go. */
export interface BodySink {
  chunk(bytes: Uint8Array): void;
  /** Everything that arrived together has been pushed (a moment to flush what was written). */
  batch(): void;
  /** The body ended: completely, or with the error that broke it. Called once. */
  end(error?: unknown): void;
}

/** A body read by pushing its chunks to one sink. */
export interface BodySource {
  /** Starts delivery: what already arrived first, then each chunk as it comes. One listener per body. */
  listen(sink: BodySink): void;
  /** Stops reading from the network until resume() (the client is not keeping up). */
  pause(): void;
  resume(): void;
  /** The rest of the body is not wanted: reading stops, and the connection is closed if the body has not ended. */
  cancel(): void;
  /** The rest of the body is not wanted, but its end is near: it is read (and dropped) for up to a second so the connection can be reused, then cancelled. */
  drain(): void;
}

/** The body a transport fills: chunks arriving before a listener are kept until one comes. */
export class PushedBody implements BodySource {
  private sink: BodySink | undefined;
  private early: Uint8Array[] | undefined;
  private ended: { error?: unknown } | undefined;
  private cancelled = false;
  private draining: Timer | undefined;

  constructor(private readonly control: { pause(): void; resume(): void; cancel(): void }) {}

  push(bytes: Uint8Array): void {
    if (this.cancelled) return;
    if (this.sink) this.sink.chunk(bytes);
    else (this.early ??= []).push(bytes);
  }

  /** What arrived together has been pushed. */
  pushed(): void {
    if (this.sink && !this.cancelled && !this.ended) this.sink.batch();
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = error === undefined ? {} : { error };
    this.stopDraining();
    if (this.sink && !this.early && !this.cancelled) {
      this.sink.batch();
      this.sink.end(error);
    }
  }

  listen(sink: BodySink): void {
    if (this.sink) throw new TypeError("the body already has a listener");
    this.sink = sink;
    const early = this.early;
    if (early) {
      for (let i = 0; i < early.length && !this.cancelled; i++) sink.chunk(early[i]!);
      this.early = undefined;
      if (!this.cancelled) sink.batch();
    }
    if (this.ended && !this.cancelled) sink.end(this.ended.error);
  }

  pause(): void {
    this.control.pause();
  }
  resume(): void {
    this.control.resume();
  }
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.early = undefined;
    this.stopDraining();
    if (!this.ended) this.control.cancel();
  }

  drain(): void {
    if (this.ended || this.cancelled) return;
    this.sink = { chunk() {}, batch() {}, end() {} };
    this.draining = setTimeout(() => this.cancel(), 1000).unref();
  }

  /** A body drained to its end lets go of its timer at once (it would hold the exchange for a second). */
  private stopDraining(): void {
    if (this.draining) clearTimeout(this.draining);
    this.draining = undefined;
  }

  /** The body as a ReadableStream (for `Response.text()` and readers); it listens on the first read. */
  toStream(): ReadableStream<Uint8Array> {
    let listening = false;
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          if (listening) return;
          listening = true;
          this.listen({ chunk: (b) => controller.enqueue(b), batch() {}, end: (e) => (e === undefined ? controller.close() : controller.error(e)) });
        },
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
  }
}

type ManyReader = ReadableStreamDefaultReader<Uint8Array> & {
  readMany(): Promise<Bun.ReadableStreamDefaultReadManyResult<Uint8Array>> | Bun.ReadableStreamDefaultReadManyResult<Uint8Array>;
};

/** A ReadableStream as a body source: everything already delivered is pushed at once (readMany). */
export function streamSource(stream: ReadableStream<Uint8Array>): BodySource {
  let paused: { resume: () => void; wait: Promise<void> } | undefined;
  let cancelled = false;
  const reader = stream.getReader() as ManyReader;
  return {
    listen(sink) {
      void (async () => {
        try {
          for (;;) {
            const ready = reader.readMany();
            const batch = ready instanceof Promise ? await ready : ready;
            for (const v of batch.value) {
              if (cancelled) return;
              sink.chunk(v);
            }
            if (cancelled) return;
            if (batch.value.length > 0) sink.batch();
            if (batch.done) return sink.end();
            if (paused) await paused.wait;
          }
        } catch (err) {
          if (!cancelled) sink.end(err ?? new Error("the stream failed"));
        }
      })();
    },
    pause() {
      if (paused) return;
      let resume!: () => void;
      const wait = new Promise<void>((r) => (resume = r));
      paused = { resume, wait };
    },
    resume() {
      const p = paused;
      paused = undefined;
      p?.resume();
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      this.resume();
      void reader.cancel().catch(() => {});
    },
    drain() {
      this.cancel();
    },
  };
}
