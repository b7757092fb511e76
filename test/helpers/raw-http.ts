import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one HTTP/1.1 request over a fresh socket exactly as given: header values fetch() would refuse
 * (unicode, control characters, duplicates) go through unchanged.
 */
export function rawRequest(port: number, method: string, path: string, headers: [string, string][], body?: string | Uint8Array, timeoutMs = 10_000): Promise<RawResponse> {
  const payload = body === undefined ? Buffer.alloc(0) : typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n` +
    headers.map(([k, v]) => `${k}: ${Buffer.from(v, "utf8").toString("latin1")}\r\n`).join("") +
    (body === undefined ? "" : `Content-Length: ${payload.length}\r\n`) +
    "\r\n";
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written without half-closing: a FIN right after the request makes some servers drop it.
    const socket = connect(port, "127.0.0.1", () => socket.write(Buffer.concat([Buffer.from(head, "latin1"), payload])));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms for ${method} ${path}`));
    }, timeoutMs);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString("utf8");
      const split = raw.indexOf("\r\n\r\n");
      const [statusLine, ...headerLines] = raw.slice(0, split).split("\r\n");
      const hs = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      let rest = raw.slice(split + 4);
      if (hs["transfer-encoding"] === "chunked") {
        let out = "";
        while (rest.length) {
          const nl = rest.indexOf("\r\n");
          const size = parseInt(rest.slice(0, nl), 16);
          if (!size) break;
          out += rest.slice(nl + 2, nl + 2 + size);
          rest = rest.slice(nl + 2 + size + 2);
        }
        rest = out;
      }
      resolve({ status: Number(statusLine?.split(" ")[1] ?? 0), headers: hs, body: rest });
    });
  });
}
