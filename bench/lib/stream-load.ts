// N keep-alive connections, each running streaming chat completions back to back for a while (raw
// sockets: the client's own cost stays small and equal for every target). Per stream it records whether
// it ended in [DONE] without an error event, how many data events arrived, and its largest gap between
// two arrivals.
const BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Stream a long answer." }], stream: true });
const DATA = Buffer.from("data: ");
const DONE = Buffer.from("data: [DONE]");
const ERROR = Buffer.from('"error"');
const LAST_CHUNK = Buffer.from("\r\n0\r\n\r\n");

export interface StreamLoadResult {
  completed: number;
  bad: number;
  /** data events received (content, usage, [DONE]) */
  events: number;
  /** each completed stream's largest gap between arrivals, ms */
  largestGaps: number[];
}

/** Runs `connections` connections for `seconds`; streams in flight at the end are finished, not cut. */
export async function streamLoad(url: string, key: string, connections: number, seconds: number): Promise<StreamLoadResult> {
  const { hostname, port } = new URL(url);
  const request = Buffer.from(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
  );
  const result: StreamLoadResult = { completed: 0, bad: 0, events: 0, largestGaps: [] };
  const stopAt = performance.now() + seconds * 1000;

  async function connection(): Promise<void> {
    let tail: Buffer = Buffer.alloc(0);
    let last = 0;
    let gap = 0;
    let sawDone = false;
    let sawError = false;
    let finish: (() => void) | undefined;
    let fail: ((e: Error) => void) | undefined;
    const socket = await Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        data(_s, chunk) {
          const now = performance.now();
          if (last > 0) gap = Math.max(gap, now - last);
          last = now;
          // Count events in what arrived (a "data: " split across reads is counted by the next read's look at the tail).
          const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
          for (let at = buf.indexOf(DATA, tail.length > 0 ? Math.max(0, tail.length - DATA.length + 1) : 0); at !== -1; at = buf.indexOf(DATA, at + 1)) result.events++;
          if (!sawDone && buf.indexOf(DONE) !== -1) sawDone = true;
          if (!sawError && buf.indexOf(ERROR) !== -1) sawError = true;
          tail = buf.subarray(Math.max(0, buf.length - 16));
          if (tail.length >= LAST_CHUNK.length && tail.subarray(tail.length - LAST_CHUNK.length).equals(LAST_CHUNK)) finish?.();
        },
        close() {
          fail?.(new Error("connection closed"));
        },
        error(_s, e) {
          fail?.(e);
        },
      },
    });
    try {
      while (performance.now() < stopAt) {
        last = 0;
        gap = 0;
        sawDone = false;
        sawError = false;
        tail = Buffer.alloc(0);
        await new Promise<void>((resolve, reject) => {
          finish = resolve;
          fail = reject;
          socket.write(request);
        });
        if (sawDone && !sawError) {
          result.completed++;
          result.largestGaps.push(gap);
        } else result.bad++;
      }
    } catch {
      result.bad++;
    } finally {
      finish = fail = undefined;
      socket.end();
    }
  }

  await Promise.all(Array.from({ length: connections }, () => connection()));
  return result;
}
