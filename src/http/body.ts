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

/**
 * Reads a request body as text, refusing more than `limit` bytes with 413 whether or not a
 * content-length was sent, and a body still arriving after `timeoutMs` with 408. A client that aborts
 * its upload gets the 499 nobody will read (and no error-level log line).
 */
export async function readBody(req: Request, { limit, timeoutMs }: ReadBodyOptions): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) throw bodyTooLarge(limit);
  if (!req.body) return "";
  let timer: Timer | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ApiError(408, `The request body did not arrive within ${timeoutMs} ms.`, "invalid_request_error", "request_timeout", null, { connection: "close" }));
    }, timeoutMs);
  });
  try {
    // With a content-length Bun delivers exactly that many bytes, already checked above.
    return await Promise.race([Number.isFinite(declared) ? req.text() : readChunked(req.body, limit), deadline]);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(499, "The client closed the request while sending its body.", "invalid_request_error", "client_closed_request");
  } finally {
    clearTimeout(timer);
  }
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
