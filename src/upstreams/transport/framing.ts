// HTTP/1.1 answers read from bytes: the status line and headers, then the body's framing (chunked,
// Content-Length, or until the connection closes). Bounded against a hostile upstream: a head larger
// than 64 KB, a chunk-size line or trailer line longer than 4 KB, or a malformed size is an error.

const CRLF_CRLF = Buffer.from("\r\n\r\n");
const LF_LF = Buffer.from("\n\n");
const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: Uint8Array | number, byteOffset?: number) => number;
const latin1 = Buffer.prototype.toString as (this: Uint8Array, encoding: "latin1", start?: number, end?: number) => string;
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE = 4096;

/** A malformed answer from the upstream (its connection is not reused). */
export class UpstreamProtocolError extends Error {
  readonly code = "UPSTREAM_PROTOCOL_ERROR";
}

export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
  /** How the body is framed; "none" for answers that have none (1xx were skipped, 204, 304, HEAD). */
  framing: { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" } | { kind: "none" };
  /** The connection may carry another request once the body has ended. */
  keepAlive: boolean;
  contentEncoding: string | null;
}

/** Where the head ends in `bytes` (the index after its blank line), or -1 while incomplete. */
export function headEnd(bytes: Uint8Array): number {
  const crlf = indexOf.call(bytes, CRLF_CRLF, 0);
  const lf = indexOf.call(bytes, LF_LF, 0);
  if (crlf === -1) return lf === -1 ? -1 : lf + 2;
  return lf !== -1 && lf + 2 < crlf + 4 ? lf + 2 : crlf + 4;
}

/** Parses a complete head (`bytes` up to its blank line). */
export function parseHead(bytes: Uint8Array, method: string): ResponseHead {
  const lines = latin1.call(bytes, "latin1", 0, bytes.length).split(/\r?\n/);
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new UpstreamProtocolError(`The upstream answered with a malformed status line.`);
  const status = Number(m[2]);
  const headers: [string, string][] = [];
  let length: number | undefined;
  let chunked = false;
  let connection = "";
  let contentEncoding: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UpstreamProtocolError("The upstream answered with a malformed header line.");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.push([name, value]);
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) throw new UpstreamProtocolError("The upstream answered with an invalid Content-Length.");
      length = Number(value);
    } else if (name === "transfer-encoding") chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
    else if (name === "connection") connection += `${value.toLowerCase()},`;
    else if (name === "content-encoding" && value.toLowerCase() !== "identity") contentEncoding = value.toLowerCase();
  }
  const http10 = m[1] === "0";
  let keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*,/.test(connection) : !/(?:^|,)\s*close\s*,/.test(connection);
  let framing: ResponseHead["framing"];
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) framing = { kind: "none" };
  else if (chunked) framing = { kind: "chunked" };
  else if (length !== undefined) framing = { kind: "length", length };
  else {
    framing = { kind: "close" };
    keepAlive = false;
  }
  return { status, statusText: m[3] ?? "", headers, framing, keepAlive, contentEncoding };
}

const enum Chunked {
  Size,
  Data,
  DataEnd,
  Trailer,
}

/** Decodes a chunked body: data goes to `out`; `feed` says where the body ended in the bytes given, or -1. */
export class ChunkedDecoder {
  private state = Chunked.Size;
  private left = 0;
  private line: number[] = [];

  feed(bytes: Uint8Array, from: number, out: (piece: Uint8Array) => void): number {
    let i = from;
    const n = bytes.length;
    while (i < n) {
      if (this.state === Chunked.Data) {
        const take = Math.min(this.left, n - i);
        out(i === 0 && take === n ? bytes : bytes.subarray(i, i + take));
        i += take;
        this.left -= take;
        if (this.left === 0) this.state = Chunked.DataEnd;
        continue;
      }
      // Size, DataEnd and Trailer read lines; only their bytes up to LF are kept (bounded).
      const lf = indexOf.call(bytes, 10, i);
      const end = lf === -1 ? n : lf;
      if (this.line.length + (end - i) > MAX_LINE) throw new UpstreamProtocolError("The upstream sent an over-long chunk line.");
      for (let j = i; j < end; j++) this.line.push(bytes[j]!);
      if (lf === -1) return -1;
      i = lf + 1;
      const line = this.line;
      this.line = [];
      if (line.length > 0 && line[line.length - 1] === 13) line.pop();
      if (this.state === Chunked.DataEnd) {
        if (line.length !== 0) throw new UpstreamProtocolError("The upstream sent a chunk longer than its size.");
        this.state = Chunked.Size;
      } else if (this.state === Chunked.Trailer) {
        if (line.length === 0) return i;
      } else {
        const size = chunkSize(line);
        if (size === 0) this.state = Chunked.Trailer;
        else {
          this.left = size;
          this.state = Chunked.Data;
        }
      }
    }
    return -1;
  }
}

/** The hex size at the start of a chunk-size line (extensions after `;` ignored). */
function chunkSize(line: number[]): number {
  let size = 0;
  let digits = 0;
  for (const c of line) {
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d === -1) {
      if (c === 59 || c === 32 || c === 9) break; // ';' or whitespace before an extension
      throw new UpstreamProtocolError("The upstream sent a malformed chunk size.");
    }
    if (++digits > 12) throw new UpstreamProtocolError("The upstream sent a chunk size out of range.");
    size = size * 16 + d;
  }
  if (digits === 0) throw new UpstreamProtocolError("The upstream sent a malformed chunk size.");
  return size;
}
