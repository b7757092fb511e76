// What every relay shares: the options besides its API's own, and the message of a stream cut off for size.

/** The error event's message for a stream cut off at GATEWAY_MAX_UPSTREAM_BYTES. */
export function tooLongMessage(maxBytes: number): string {
  return `The upstream stream passed ${maxBytes} bytes (GATEWAY_MAX_UPSTREAM_BYTES) and was cut off; the response is incomplete.`;
}

/** What every relay is given besides its API's own options. */
export interface RelayBase {
  upstream: ReadableStream<Uint8Array>;
  /** Aborts the upstream request (the client disconnected). */
  abortUpstream: () => void;
  /** Called on every upstream chunk (restarts the idle timeout). */
  onActivity?: () => void;
  /** Message of the error event when the upstream fails mid-stream. */
  upstreamErrorMessage: () => string;
  /** A stream longer than this (bytes from the upstream) is cut off with an error event. */
  maxBytes?: number;
}
