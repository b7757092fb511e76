// Upstreams that misbehave at the TCP and HTTP level, against the compiled binary: what the customer
// gets, which rows are written, and that 1,000 faulty requests leave no file descriptors or memory behind.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { completion, DEFAULT_USAGE, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

type Mode = "reset" | "garbage" | "half-headers" | "close-before-body" | "bad-chunk-mid-stream";
let mode: Mode = "reset";
const sockets = new Set<Socket>();
// A raw TCP "upstream" for faults an HTTP server library would never produce.
const raw: NetServer = createServer((s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
  s.on("error", () => {});
  s.once("data", () => {
    if (mode === "reset") s.resetAndDestroy();
    else if (mode === "garbage") s.end("this is not HTTP at all\r\n\r\n");
    else if (mode === "half-headers") s.end("HTTP/1.1 200 OK\r\nContent-Type: applica");
    else if (mode === "close-before-body") s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"id":"chatcmpl-cut","choi');
    else {
      // A stream whose HTTP framing breaks after its first event: a chunk size that is not hex.
      const event = `data: ${JSON.stringify({ id: "chatcmpl-bad", model: "gpt-4o", choices: [{ index: 0, delta: { content: "first words" } }] })}\n\n`;
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`);
      setTimeout(() => s.write("zz-not-a-size\r\nmore\r\n"), 50);
    }
  });
});
const upstream = startFakeUpstream();
let rawGw: TestGateway;
let gw: TestGateway;
let key: string;
let rawKey: string;

beforeAll(async () => {
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  const rawPort = (raw.address() as { port: number }).port;
  rawGw = await startGateway({ mode: "binary", upstreamUrl: `http://127.0.0.1:${rawPort}/v1`, env: { GATEWAY_UPSTREAM_TIMEOUT_MS: "2000", GATEWAY_MAX_RETRIES: "0" } });
  // No retries: each fault is seen as it is passed on (retries.test.ts covers retrying).
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_UPSTREAM_TIMEOUT_MS: "2000", GATEWAY_MAX_RETRIES: "0" } });
  rawKey = (await rawGw.createKey("raw", 1_000_000)).key;
  key = (await gw.createKey("faults", 1_000_000)).key;
});
afterAll(async () => {
  await rawGw.stop();
  await gw.stop();
  await upstream.stop();
  for (const s of sockets) s.destroy();
  raw.close();
});

const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }] });
const post = (g: TestGateway, k: string, id: string) =>
  fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k}`, "x-request-id": id }, body });
type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };

test.each([
  ["reset", "reset before headers"],
  ["garbage", "a response that is not HTTP"],
  ["half-headers", "headers cut off"],
  ["close-before-body", "a body shorter than its Content-Length"],
] as [Mode, string][])("%s: %s -> 502 in OpenAI's shape, one row (the upstream was reached)", async (m) => {
  mode = m;
  const res = await post(rawGw, rawKey, `raw-${m}`);
  expect(res.status).toBe(502);
  const err = ((await res.json()) as ErrorJson).error;
  expect(err.type).toBe("upstream_error");
  expect(["upstream_unavailable", "bad_upstream_response"]).toContain(err.code!);
  expect(rawGw.rows().filter((r) => r.request_id === `raw-${m}`)).toHaveLength(1);
});

test("a 50 MB response is relayed whole and its usage recorded", async () => {
  const padding = "x".repeat(50 * 1024 * 1024);
  upstream.setHandler((b) => Response.json({ ...completion(b), padding }));
  try {
    const res = await post(gw, key, "big-response");
    expect(res.status).toBe(200);
    const json = (await res.json()) as { padding: string; usage: unknown };
    expect(json.padding.length).toBe(padding.length);
    expect(json.usage).toEqual(DEFAULT_USAGE);
    expect(gw.rows().filter((r) => r.request_id === "big-response")).toEqual([expect.objectContaining({ prompt_tokens: 1200, estimated: 0 })]);
  } finally {
    upstream.reset();
  }
});

function processStats(g: TestGateway): { fds: number; rssMb: number } {
  const pid = g.pid;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssMb: rss };
}

test("1,000 faulty requests leave no file descriptors or memory behind, and the gateway stays healthy", async () => {
  const faults: ((b: Record<string, unknown>) => Response | Promise<Response>)[] = [
    () => new Response("<html>boom</html>", { status: 500, headers: { "content-type": "text/html" } }),
    () => new Response("{not json", { headers: { "content-type": "application/json" } }),
    () => new Response("", { status: 200 }),
    () => Response.json({ error: { message: "slow down", type: "requests", param: null, code: "rate_limit_exceeded" } }, { status: 429, headers: { "retry-after": "3" } }),
    (b) => new Response(`data: ${JSON.stringify({ ...completion(b), object: "chat.completion.chunk" })}\n\n`, { headers: { "content-type": "text/event-stream" } }),
  ];
  let i = 0;
  upstream.setHandler((b) => faults[i++ % faults.length]!(b));
  const warm = async (n: number) => {
    for (let j = 0; j < n; j += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, k) => {
        const stream = (j + k) % 5 === 4;
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], stream }),
        });
        await res.text();
        expect(res.status === 200 || res.status >= 400).toBe(true);
        expect(res.status).not.toBe(503);
      }));
    }
  };
  try {
    // Let caches and keep-alive pools reach their steady size: rounds until the descriptors stop growing
    // (a leak would never stop; it shows up below as hundreds).
    let before = processStats(gw);
    for (let round = 0; round < 6; round++) {
      await warm(200);
      await Bun.sleep(300);
      const now = processStats(gw);
      const settled = now.fds <= before.fds + 2;
      before = now;
      if (settled && round > 0) break;
    }
    const rowsBefore = gw.rows().length;
    await warm(1000);
    await Bun.sleep(500);
    const after = processStats(gw);
    // Keep-alive pools (clients to gateway, gateway to upstream) jitter by a few sockets; a leak per
    // faulty request would show up as hundreds.
    expect(after.fds).toBeLessThanOrEqual(before.fds + 20);
    expect(after.rssMb - before.rssMb).toBeLessThan(40);
    expect(gw.rows().length - rowsBefore).toBe(1000); // every faulty request reached the upstream: one row each
  } finally {
    upstream.reset();
  }
  const ok = await post(gw, key, "healthy-after-faults");
  expect(ok.status).toBe(200);
});

test("an answer over GATEWAY_MAX_UPSTREAM_BYTES (declared, or sent without a length) is a 502 upstream_response_too_large; a stream past it is cut off with an error event; a row each, memory bounded", async () => {
  const capped = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_MAX_UPSTREAM_BYTES: String(1 << 20), GATEWAY_MAX_RETRIES: "0" } });
  try {
    const k = (await capped.createKey("big-answers", 1_000_000)).key;
    const huge = JSON.stringify({ ...completion({ model: "gpt-4o" }), pad: "x".repeat(40 << 20) });
    const chunked = (): Response => {
      let sent = 0;
      return new Response(new ReadableStream({ pull(c) { if (sent >= huge.length) return c.close(); c.enqueue(new TextEncoder().encode(huge.slice(sent, (sent += 1 << 20)))); } }), { headers: { "content-type": "application/json" } });
    };
    for (const answer of [() => new Response(huge, { headers: { "content-type": "application/json" } }), chunked]) {
      upstream.setHandler(answer);
      const res = await fetch(`${capped.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_response_too_large");
    }
    // Streams that never end: cut off at the cap with an error event in the API's shape (chat, Responses).
    const endless = (event: (i: number) => string) => (): Response =>
      new Response(new ReadableStream({ pull(c) { for (let i = 0; i < 16; i++) c.enqueue(new TextEncoder().encode(event(i))); } }), { headers: { "content-type": "text/event-stream" } });
    const piece = "y".repeat(4096);
    for (const [path, event, body] of [
      ["/v1/chat/completions", (i: number) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [{ index: 0, delta: { content: piece + i } }] })}\n\n`, { model: "gpt-4o", stream: true, messages: [{ role: "user", content: "hi" }] }],
      ["/v1/responses", (i: number) => `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: piece + i })}\n\n`, { model: "gpt-4o", stream: true, input: "hi" }],
    ] as const) {
      upstream.setHandler(endless(event));
      const res = await fetch(`${capped.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.length).toBeLessThan((1 << 20) + 200_000);
      expect(text).toContain("upstream_response_too_large");
    }
    upstream.reset();
    const deadline2 = Date.now() + 5000;
    while (capped.rows().length < 4 && Date.now() < deadline2) await Bun.sleep(20);
    expect(capped.rows().map((r) => r.upstream_status)).toEqual([200, 200, 200, 200]);
    const deadline = Date.now() + 5000;
    while (!capped.logs().includes("GATEWAY_MAX_UPSTREAM_BYTES") && Date.now() < deadline) await Bun.sleep(20);
    expect(capped.logs()).toContain("GATEWAY_MAX_UPSTREAM_BYTES");
    const rssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${capped.pid}/status`, "utf8"))?.[1]);
    // Bounded, not flat: Bun's fetch reads a fast upstream's stream ahead of the relay (here ~75 MB before
    // the cut at 1 MB); without the cap the streams would grow without end.
    expect(rssKb).toBeLessThan(300 * 1024);
  } finally {
    upstream.reset();
    await capped.stop();
  }
});

test("a stream whose HTTP framing breaks mid-answer: the first event, then the error event in the stream, no [DONE], and one estimated row", async () => {
  mode = "bad-chunk-mid-stream";
  const started = performance.now();
  const res = await fetch(`${rawGw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${rawKey}`, "x-request-id": "raw-bad-chunk" },
    body: JSON.stringify({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: "hello" }] }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  const events = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  expect(JSON.parse(events[0]!).choices[0].delta.content).toBe("first words");
  const last = JSON.parse(events.at(-1)!) as ErrorJson;
  expect([last.error.type, last.error.code]).toEqual(["upstream_error", "upstream_error"]);
  // Ended by the broken framing itself, not by the 2 s idle timeout.
  expect(last.error.message).toBe("The upstream connection broke off mid-stream; the response is incomplete.");
  expect(performance.now() - started).toBeLessThan(1500);
  expect(text).not.toContain("[DONE]");
  const rows = rawGw.rows().filter((r) => r.request_id === "raw-bad-chunk");
  expect(rows).toHaveLength(1);
  expect([rows[0]!.streamed, rows[0]!.estimated, rows[0]!.completion_tokens]).toEqual([1, 1, 2]);
});
