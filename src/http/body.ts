import { ApiError } from "../errors.ts";

/** Admin bodies are a few fields: anything larger is refused unread. */
export const ADMIN_BODY_LIMIT = 64 * 1024;

/** 413 in OpenAI's shape; the connection is closed so the rest of the body is never read. */
export function bodyTooLarge(limit: number): ApiError {
  return new ApiError(413, `Request body is larger than the limit of ${limit} bytes.`, "invalid_request_error", "request_too_large", null, { connection: "close" });
}

export interface ReadBodyOptions {
  limit: number;
  /** The whole body must arrive within this long (a client sending a byte at a time is cut off). */
  timeoutMs: number;
}

// Body deadlines are checked by one shared sweep instead of a timer per request (the hot path reads a
// body on every request; almost all arrive at once).
const reading = new Set<{ deadline: number; fail: (err: ApiError) => void; timeoutMs: number }>();
let sweeper: Timer | undefined;
function sweep(): void {
  const now = Date.now();
  for (const r of reading) {
    if (r.deadline > now) continue;
    reading.delete(r);
    r.fail(new ApiError(408, `The request body did not arrive within ${r.timeoutMs} ms.`, "invalid_request_error", "request_timeout", null, { connection: "close" }));
  }
  if (reading.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Reads a request body as text, refusing more than `limit` bytes with 413 whether or not a
 * content-length was sent, and a body still arriving after `timeoutMs` (checked every 250 ms) with 408.
 * A client that aborts its upload gets the 499 nobody will read (and no error-level log line).
 */
export function readBody(req: Request, { limit, timeoutMs }: ReadBodyOptions): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) return Promise.reject(bodyTooLarge(limit));
  if (!req.body) return Promise.resolve("");
  return new Promise<string>((resolve, reject) => {
    const entry = { deadline: Date.now() + timeoutMs, fail: reject, timeoutMs };
    reading.add(entry);
    if (!sweeper) {
      sweeper = setInterval(sweep, Math.min(250, timeoutMs));
      sweeper.unref();
    }
    // With a content-length Bun delivers exactly that many bytes, already checked above.
    (Number.isFinite(declared) ? req.text() : readChunked(req.body!, limit)).then(
      (text) => {
        reading.delete(entry);
        resolve(text);
      },
      (err: unknown) => {
        reading.delete(entry);
        reject(err instanceof ApiError ? err : new ApiError(499, "The client closed the request while sending its body.", "invalid_request_error", "client_closed_request"));
      },
    );
  });
}

async function readChunked(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
