// The gateway's HTTP/1.1 client for provider calls, on the event loop's own sockets: a streamed answer's
// chunks reach the relay as they are read, with no hand-over from another thread, no promise and no
// stream queue per chunk (Bun's fetch reads on its own thread and hands every chunk over). It speaks
// what providers answer with: keep-alive, chunked or sized bodies, gzip/deflate/br/zstd if sent anyway.
// With an HTTP proxy configured in the environment, provider calls go through fetch instead.
import { PushedBody, streamSource, type BodySource } from "./body-source.ts";
import { ChunkedDecoder, headEnd, MAX_HEAD_BYTES, parseHead, UpstreamProtocolError, type ResponseHead } from "./framing.ts";
import { connect, discard, originOf, release, takeIdle, type Connection, type Wire } from "./pool.ts";

export interface UpstreamInit {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: string | Uint8Array | null;
  signal?: AbortSignal;
}

const sources = new WeakMap<Response, BodySource>();
const PROXIED = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].some((v) => process.env[v]);
const DECODINGS: Record<string, string> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate", br: "brotli", zstd: "zstd" };
const FORBIDDEN = /[\r\n\0]/;
const SKIPPED = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive"]);

/** The answer's body as a chunk source (the relay's way to read a stream), whichever client fetched it. */
export function bodySource(res: Response): BodySource {
  const own = sources.get(res);
  if (own) {
    sources.delete(res);
    return own;
  }
  return streamSource(res.body ?? new ReadableStream({ start: (c) => c.close() }));
}

/** Sends a request to a provider; resolves with the answer once its head has arrived, like fetch. */
export async function sendUpstream(url: string, init: UpstreamInit): Promise<Response> {
  const parsed = new URL(url);
  if (PROXIED || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) return fetch(url, init as RequestInit);
  const request = requestBytes(init.method ?? "GET", parsed, init.headers, init.body);
  const signal = init.signal;
  if (signal?.aborted) throw abortError();
  const idle = takeIdle(originOf(parsed));
  try {
    return await exchangeOn(idle ?? (await connectUnlessAborted(parsed, signal)), request, init.method ?? "GET", signal);
  } catch (err) {
    // An idle connection the upstream had already closed: the request never reached it; once more, fresh.
    if (!(err instanceof StaleConnection)) throw err;
    if (signal?.aborted) throw abortError();
    return exchangeOn(await connectUnlessAborted(parsed, signal), request, init.method ?? "GET", signal);
  }
}

/** A fresh connection, or an AbortError as soon as the signal aborts (a connection made after that is closed). */
function connectUnlessAborted(url: URL, signal: AbortSignal | undefined): Promise<Connection> {
  if (!signal) return connect(url);
  return new Promise<Connection>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
    connect(url).then(
      (conn) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) return void discard(conn);
        resolve(conn);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

class StaleConnection extends Error {}

function abortError(): DOMException {
  return new DOMException("The operation was aborted.", "AbortError");
}

function brokenError(message: string, cause?: Error): Error {
  return Object.assign(new Error(message, { cause }), { code: "ECONNRESET" });
}

function requestBytes(method: string, url: URL, headers: UpstreamInit["headers"], body: UpstreamInit["body"]): Buffer {
  const bytes = body === undefined || body === null ? undefined : typeof body === "string" ? Buffer.from(body) : body;
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  let encoding = false;
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (SKIPPED.has(lower)) return;
    if (FORBIDDEN.test(name) || FORBIDDEN.test(value) || name.includes(":")) throw new TypeError(`Invalid header for the upstream request: ${name}`);
    if (lower === "accept-encoding") encoding = true;
    head += `${name}: ${value}\r\n`;
  };
  if (headers instanceof Headers) headers.forEach((v, k) => add(k, v));
  else if (Array.isArray(headers)) for (const [k, v] of headers) add(k, v);
  else if (headers) for (const k in headers) add(k, headers[k]!);
  if (!encoding) head += "accept-encoding: identity\r\n";
  if (bytes || method === "POST" || method === "PUT" || method === "PATCH") head += `content-length: ${bytes?.byteLength ?? 0}\r\n`;
  head += "\r\n";
  return bytes ? Buffer.concat([Buffer.from(head, "latin1"), bytes]) : Buffer.from(head, "latin1");
}

/** One request and its answer on a connection. */
function exchangeOn(conn: Connection, request: Buffer, method: string, signal: AbortSignal | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    let unsent: Buffer | undefined = request;
    let head: Buffer | undefined;
    let received = 0;
    let body: PushedBody | undefined;
    let left = 0;
    let chunked: ChunkedDecoder | undefined;
    let keepAlive = false;
    let done = false;

    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      if (error || !keepAlive) discard(conn);
      else release(conn);
    };
    const fail = (error: Error) => {
      if (done) return;
      finish(error);
      if (body) body.end(error);
      else reject(error);
    };
    const onAbort = () => fail(abortError() as unknown as Error);
    signal?.addEventListener("abort", onAbort, { once: true });

    const bodyBytes = (bytes: Uint8Array, from: number) => {
      if (!chunked) {
        // Sized or until close: what is left of it.
        const take = left === -1 ? bytes.length - from : Math.min(left, bytes.length - from);
        if (take > 0) body!.push(from === 0 && take === bytes.length ? bytes : bytes.subarray(from, from + take));
        if (left === -1) return;
        left -= take;
        if (left === 0) end(from + take < bytes.length);
        return;
      }
      const at = chunked.feed(bytes, from, (piece) => body!.push(piece));
      if (at !== -1) end(at < bytes.length);
    };
    const end = (extra: boolean) => {
      if (extra) keepAlive = false; // bytes past the answer: the connection is out of step
      finish();
      body!.end();
    };

    const start = (h: ResponseHead, rest: Uint8Array) => {
      if (h.status < 200 || h.status > 599) throw new UpstreamProtocolError(`The upstream answered with status ${h.status}.`);
      keepAlive = h.keepAlive;
      const init = { status: h.status, statusText: h.statusText, headers: h.headers };
      if (h.framing.kind === "none") {
        finish();
        if (rest.length > 0) discard(conn);
        return resolve(new Response(null, init));
      }
      if (h.framing.kind === "length" && rest.length >= h.framing.length && !h.contentEncoding) {
        // The whole body came with the head (a typical JSON answer): no stream at all.
        finish();
        if (rest.length > h.framing.length) discard(conn);
        return resolve(new Response(rest.subarray(0, h.framing.length), init));
      }
      body = new PushedBody({ pause: () => conn.socket.pause(), resume: () => conn.socket.resume(), cancel: () => fail(abortError() as unknown as Error) });
      left = h.framing.kind === "length" ? h.framing.length : -1;
      if (h.framing.kind === "chunked") chunked = new ChunkedDecoder();
      if (h.contentEncoding) {
        const format = DECODINGS[h.contentEncoding];
        if (!format) throw new UpstreamProtocolError(`The upstream answered with an unknown Content-Encoding: ${h.contentEncoding}.`);
        const decoded = body.toStream().pipeThrough(new DecompressionStream(format as "gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
        resolve(new Response(decoded, { ...init, headers: h.headers.filter(([n]) => n !== "content-encoding" && n !== "content-length") }));
      } else {
        const res = new Response(body.toStream(), init);
        sources.set(res, body);
        resolve(res);
      }
      if (rest.length > 0) {
        bodyBytes(rest, 0);
        body.pushed();
      }
    };

    const wire: Wire = {
      data(bytes) {
        if (done) return;
        received += bytes.length;
        try {
          if (body) {
            bodyBytes(bytes, 0);
            return body.pushed();
          }
          let buf: Buffer = head ? Buffer.concat([head, bytes]) : bytes;
          head = buf;
          for (;;) {
            const at = headEnd(buf);
            if (at === -1) {
              if (buf.length > MAX_HEAD_BYTES) throw new UpstreamProtocolError("The upstream's answer headers passed 64 KB.");
              return;
            }
            const h = parseHead(buf.subarray(0, at), method);
            const rest: Buffer = buf.subarray(at);
            if (h.status >= 100 && h.status < 200 && h.status !== 101) {
              head = buf = rest; // 100 Continue, 103 Early Hints: the real answer follows
              if (rest.length === 0) return void (head = undefined);
              continue;
            }
            head = undefined;
            return start(h, rest);
          }
        } catch (err) {
          fail(err instanceof Error ? err : new UpstreamProtocolError(String(err)));
        }
      },
      drain() {
        if (!unsent) return;
        const wrote = conn.socket.write(unsent);
        unsent = wrote >= unsent.length ? undefined : unsent.subarray(Math.max(0, wrote));
      },
      closed(error) {
        if (done) return;
        if (body && left === -1 && !chunked) return void (finish(), body.end()); // a body read until close
        if (!body && received === 0 && conn.reused) return void (finish(error), reject(new StaleConnection()));
        fail(brokenError(body ? "The upstream connection closed before the answer was complete." : "The upstream connection closed before it answered.", error));
      },
    };
    conn.wire = wire;
    wire.drain();
  });
}
