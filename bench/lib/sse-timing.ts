// A raw-socket HTTP/1.1 client that times a streaming completion: first SSE event, each event, end.
const REQUEST_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Stream me a short answer." }], stream: true });

export interface StreamTiming {
  /** ms from writing the request to the first `data:` byte */
  firstEventMs: number;
  /** ms from writing the request to `data: [DONE]` */
  totalMs: number;
  /** arrival time (ms) of each `data:` event */
  eventTimesMs: number[];
}

/** Sends `count` streaming requests one after another over one keep-alive connection. */
export async function timeStreams(url: string, key: string, count: number): Promise<StreamTiming[]> {
  const { hostname, port } = new URL(url);
  const request =
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(REQUEST_BODY)}\r\n\r\n${REQUEST_BODY}`;
  const results: StreamTiming[] = [];
  let current: { start: number; buf: string; events: number[]; resolve: () => void } | undefined;
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, data) {
        if (!current) return;
        const now = performance.now();
        const text = data.toString();
        const before = (current.buf.match(/data:/g) ?? []).length;
        current.buf += text;
        const after = (current.buf.match(/data:/g) ?? []).length;
        for (let i = before; i < after; i++) current.events.push(now - current.start);
        if (current.buf.includes("data: [DONE]")) current.resolve();
      },
    },
  });
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      current = { start: performance.now(), buf: "", events: [], resolve };
      socket.write(request);
    });
    const c = current!;
    // Let the terminating chunk of the chunked encoding arrive before the next request.
    await Bun.sleep(0);
    results.push({ firstEventMs: c.events[0]!, totalMs: c.events.at(-1)!, eventTimesMs: c.events });
  }
  socket.end();
  return results;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
