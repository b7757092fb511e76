// Calls between the primary thread and a request thread (serve --workers): each side calls the other's
// handlers by name and gets a promise of the answer. Messages of one event-loop turn travel as one
// postMessage (a structured clone costs the same for one message or twenty), and the first message of
// a quiet moment leaves at once, so a lone request pays no batching delay.
import { ApiError } from "../errors.ts";

/** [kind, call id, name or error, payload]: kind 0 call, 1 answer, 2 failure, 3 one-way message. */
type Message = [0 | 1 | 2 | 3, number, string, unknown];

export type Handlers = Record<string, (payload: never) => unknown>;

export interface Channel {
  call<T>(name: string, payload?: unknown): Promise<T>;
  /** A message that needs no answer. */
  send(name: string, payload?: unknown): void;
  /** Hand every message that arrives here (the batches the other side posted). */
  receive(batch: string): void;
  /** Fails every call still waiting (the other side is gone). */
  close(reason: Error): void;
}

/** An ApiError crosses as its fields and is rebuilt on the other side (the customer's 503 or 429 keeps its shape). */
type WireError = { api: [number, string, string, string | null, string | null, Record<string, string>, string | undefined] } | { message: string };

function toWire(err: unknown): WireError {
  if (err instanceof ApiError) return { api: [err.status, err.message, err.type, err.code, err.param, err.headers, err.reason] };
  return { message: err instanceof Error ? err.message : String(err) };
}

function fromWire(w: WireError): Error {
  if (!("api" in w)) return new Error(w.message);
  const [status, message, type, code, param, headers, reason] = w.api;
  const err = new ApiError(status, message, type, code, param, headers);
  err.reason = reason;
  return err;
}

/**
 * `post` sends a batch as JSON text (a string crosses threads at about a third of the cost of cloning
 * the objects); `receive` takes that text.
 */
export function createChannel(post: (batch: string) => void, handlers: Handlers): Channel {
  const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let out: Message[] = [];
  let scheduled = false;
  let lastPost = 0;
  let closed: Error | undefined;

  const flush = () => {
    scheduled = false;
    if (out.length === 0) return;
    const batch = out;
    out = [];
    lastPost = performance.now();
    post(JSON.stringify(batch));
  };

  function push(m: Message): void {
    out.push(m);
    if (scheduled) return;
    // Quiet for a millisecond: nothing to batch with, post now. Busy: post after this turn.
    if (performance.now() - lastPost > 1) return flush();
    scheduled = true;
    setImmediate(flush);
  }

  function answer(id: number, run: () => unknown): void {
    let value: unknown;
    try {
      value = run();
    } catch (err) {
      return push([2, id, "", toWire(err)]);
    }
    if (value instanceof Promise) value.then((v) => push([1, id, "", v]), (err: unknown) => push([2, id, "", toWire(err)]));
    else push([1, id, "", value]);
  }

  return {
    call<T>(name: string, payload?: unknown): Promise<T> {
      if (closed) return Promise.reject(closed);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: never) => void, reject });
        push([0, id, name, payload]);
      });
    },
    send(name, payload) {
      if (!closed) push([3, 0, name, payload]);
    },
    receive(text) {
      for (const [kind, id, name, payload] of JSON.parse(text) as Message[]) {
        if (kind === 0 || kind === 3) {
          const handler = handlers[name];
          if (kind === 3) handler?.(payload as never);
          else answer(id, () => {
            if (!handler) throw new Error(`no handler for '${name}'`);
            return handler(payload as never);
          });
          continue;
        }
        const w = waiting.get(id);
        if (!w) continue;
        waiting.delete(id);
        if (kind === 1) w.resolve(payload as never);
        else w.reject(fromWire(payload as WireError));
      }
    },
    close(reason) {
      closed = reason;
      for (const w of waiting.values()) w.reject(reason);
      waiting.clear();
    },
  };
}

export type { Message };
