// The gateway's HTTP/1.1 client against raw TCP (and TLS) servers that answer byte by byte, out of
// step, compressed, or not at all: bodies arrive whole and in order, connections are reused only
// when the answer ended cleanly, a stale pooled connection is replaced, and a malformed or broken
// answer is an error with a code the retry logic reads.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { bodySource, sendUpstream } from "../../src/upstreams/transport/http1.ts";
import { idleCount } from "../../src/upstreams/transport/pool.ts";
import { until } from "../helpers/until.ts";
import { ensureDebianPackage } from "../helpers/debian.ts";

interface RawServer {
  url: string;
  /** Connections accepted, and the requests each received (raw heads and bodies). */
  connections: number;
  requests: string[];
  stop(): void;
}

/** A TCP server that answers each complete request (head + content-length body) with `answer(request, i)`'s writes. */
function rawServer(answer: (request: string, i: number) => (string | Uint8Array | { wait: number } | "close")[]): RawServer {
  const state = { connections: 0, requests: [] as string[] };
  const listener = Bun.listen<{ buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "" };
        state.connections++;
      },
      async data(s, bytes) {
        s.data.buf += bytes.toString("latin1");
        const headEnd = s.data.buf.indexOf("\r\n\r\n");
        if (headEnd === -1) return;
        const length = Number(/content-length: (\d+)/i.exec(s.data.buf.slice(0, headEnd))?.[1] ?? 0);
        if (s.data.buf.length < headEnd + 4 + length) return;
        const request = s.data.buf.slice(0, headEnd + 4 + length);
        s.data.buf = s.data.buf.slice(request.length);
        state.requests.push(request);
        for (const w of answer(request, state.requests.length - 1)) {
          if (w === "close") return void s.end();
          if (typeof w === "object" && "wait" in w) await Bun.sleep(w.wait);
          else s.write(w);
        }
      },
    },
  });
  return { url: `http://127.0.0.1:${listener.port}`, get connections() { return state.connections; }, requests: state.requests, stop: () => listener.stop(true) };
}

/** Every byte of `text` as its own write. */
const bytewise = (text: string) => [...Buffer.from(text)].map((b) => Uint8Array.of(b));
const chunked = (...pieces: string[]) => pieces.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join("") + "0\r\n\r\n";
const servers: RawServer[] = [];
const serve = (answer: Parameters<typeof rawServer>[0]) => {
  const s = rawServer(answer);
  servers.push(s);
  return s;
};
afterAll(() => servers.forEach((s) => s.stop()));

/** The body read through the relay's way (pushed chunks), with how many batches it came in. */
function pushed(res: Response): Promise<{ text: string; error?: unknown }> {
  return new Promise((resolve) => {
    let text = "";
    bodySource(res).listen({ chunk: (b) => (text += Buffer.from(b).toString()), batch() {}, end: (error) => resolve({ text, error }) });
  });
}

describe("the HTTP/1.1 client", () => {
  test("a chunked answer written one byte at a time arrives whole, with its status and headers; the request carries host, length and identity encoding", async () => {
    const body = chunked('data: {"a":1}\n\n', "data: [DONE]\n\n");
    const s = serve(() => bytewise(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nX-Extra: yes\r\n\r\n${body}`));
    const res = await sendUpstream(`${s.url}/v1/chat?x=1`, { method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body: '{"q":"é"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-extra")).toBe("yes");
    expect(await pushed(res)).toEqual({ text: 'data: {"a":1}\n\ndata: [DONE]\n\n', error: undefined });
    const req = s.requests[0]!;
    expect(req.startsWith("POST /v1/chat?x=1 HTTP/1.1\r\n")).toBe(true);
    expect(req).toContain(`host: ${new URL(s.url).host}\r\n`);
    expect(req).toContain("authorization: Bearer k\r\n");
    expect(req).toContain("accept-encoding: identity\r\n");
    expect(req).toContain(`content-length: ${Buffer.byteLength('{"q":"é"}')}\r\n`);
    expect(req.endsWith('{"q":"é"}'.replace("é", Buffer.from("é").toString("latin1")))).toBe(true);
  });

  test("keep-alive: three answers (sized, chunked, 204) on one connection, which then waits in the pool", async () => {
    const s = serve((_, i) => [
      i === 0 ? 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"n":0}' : i === 1 ? `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunked('{"n":', "1}")}` : "HTTP/1.1 204 No Content\r\n\r\n",
    ]);
    expect(await (await sendUpstream(s.url, { method: "POST", body: "{}" })).json()).toEqual({ n: 0 });
    expect(await (await sendUpstream(s.url, { method: "POST", body: "{}" })).json()).toEqual({ n: 1 });
    const empty = await sendUpstream(s.url, { method: "DELETE" });
    expect([empty.status, await empty.text()]).toEqual([204, ""]);
    expect(s.connections).toBe(1);
    expect(idleCount(`http://${new URL(s.url).host}`)).toBe(1);
  });

  test("100 Continue and 103 Early Hints are skipped; Connection: close and a body read until close are not pooled", async () => {
    const s = serve((_, i) =>
      i === 0 ? ["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"] : ["HTTP/1.1 200 OK\r\n\r\nuntil ", "close", "close"],
    );
    const first = await sendUpstream(s.url, { method: "POST", body: "" });
    expect([first.status, await first.text()]).toEqual([201, "ok"]);
    const second = await sendUpstream(s.url, { method: "POST", body: "" });
    expect(await pushed(second)).toEqual({ text: "until ", error: undefined });
    expect(s.connections).toBe(2);
    expect(idleCount(`http://${new URL(s.url).host}`)).toBe(0);
  });

  test("a pooled connection the upstream closed while idle is replaced: the request is answered on a fresh one", async () => {
    const s = serve(() => ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", { wait: 20 }, "close"]);
    expect(await (await sendUpstream(s.url, { method: "POST", body: "" })).text()).toBe("ok");
    await until("the upstream to close its idle connection", () => idleCount(`http://${new URL(s.url).host}`) === 0);
    expect(await (await sendUpstream(s.url, { method: "POST", body: "" })).text()).toBe("ok");
    expect(s.connections).toBe(2);
  });

  test("gzip is decoded even though identity was asked for", async () => {
    const zipped = gzipSync(Buffer.from('{"hello":"world"}'));
    const s = serve(() => [Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`), zipped]);
    const res = await sendUpstream(s.url, { method: "POST", body: "{}" });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.json()).toEqual({ hello: "world" });
  });

  const broken: [string, string[], string][] = [
    ["a malformed status line", ["HTTP/2 200\r\n\r\n"], "UPSTREAM_PROTOCOL_ERROR"],
    ["a malformed chunk size", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n"], "UPSTREAM_PROTOCOL_ERROR"],
    ["a chunk longer than its size", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n"], "UPSTREAM_PROTOCOL_ERROR"],
    ["conflicting Content-Lengths", ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"], "UPSTREAM_PROTOCOL_ERROR"],
    ["headers past 64 KB", ["HTTP/1.1 200 OK\r\n", `X-Big: ${"a".repeat(70_000)}`], "UPSTREAM_PROTOCOL_ERROR"],
    ["a close before any answer", ["close"], "ECONNRESET"],
    ["a close in the middle of a sized body", ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "close"], "ECONNRESET"],
    ["a close in the middle of a chunked body", [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunked("data: 1\n\n").slice(0, -5)}`, "close"], "ECONNRESET"],
  ];
  for (const [what, writes, code] of broken) {
    test(`${what} is an error coded ${code}, and the connection is not pooled`, async () => {
      const s = serve(() => writes);
      const host = `http://${new URL(s.url).host}`;
      let error: unknown;
      try {
        const res = await sendUpstream(s.url, { method: "POST", body: "" });
        error = (await pushed(res)).error;
      } catch (err) {
        error = err;
      }
      expect((error as { code?: string }).code).toBe(code);
      expect(idleCount(host)).toBe(0);
    });
  }

  test("an abort while waiting for the answer, or in its body, ends it with an AbortError", async () => {
    const s = serve((_, i) => (i === 0 ? [{ wait: 5000 }] : ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n", { wait: 5000 }]));
    const waiting = new AbortController();
    const pending = sendUpstream(s.url, { method: "POST", body: "", signal: waiting.signal });
    setTimeout(() => waiting.abort(), 50);
    expect(await pending.catch((e: Error) => e.name)).toBe("AbortError");
    const streaming = new AbortController();
    const res = await sendUpstream(s.url, { method: "POST", body: "", signal: streaming.signal });
    setTimeout(() => streaming.abort(), 50);
    const read = await pushed(res);
    expect([read.text, (read.error as Error).name]).toEqual(["first", "AbortError"]);
  });

  test("a header value holding CR/LF is refused before anything is sent", async () => {
    const s = serve(() => ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]);
    expect(sendUpstream(s.url, { method: "POST", headers: { "x-bad": "a\r\nx-injected: 1" }, body: "" })).rejects.toThrow(TypeError);
    await Bun.sleep(50);
    expect(s.requests).toHaveLength(0);
  });
});

describe("TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "tls-"));
  const openssl = ensureDebianPackage("/usr/bin/openssl", "openssl", "the TLS tests");
  Bun.spawnSync([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]);
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { key: readFileSync(`${dir}/key.pem`, "utf8"), cert: readFileSync(`${dir}/cert.pem`, "utf8") }, fetch: () => Response.json({ over: "tls" }) });
  afterAll(() => server.stop(true));

  test("a certificate no CA signed is refused; NODE_TLS_REJECT_UNAUTHORIZED=0 accepts it, as it does for fetch", async () => {
    const url = `https://localhost:${server.port}/`;
    const refused = await sendUpstream(url, { method: "GET" }).catch((e: { code?: string }) => e);
    expect((refused as { code?: string }).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      expect(await (await sendUpstream(url, { method: "GET" })).json()).toEqual({ over: "tls" });
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    }
  });
});

test("an abort while connecting (a TLS handshake that never completes) ends the request at once", async () => {
  const silent = serve(() => []);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const started = performance.now();
  const error = await sendUpstream(silent.url.replace("http:", "https:"), { method: "POST", body: "", signal: controller.signal }).catch((e: Error) => e);
  expect((error as Error).name).toBe("AbortError");
  expect(performance.now() - started).toBeLessThan(2000);
});
