// Connections to the upstreams, kept alive and reused per origin: plain TCP or TLS (the certificate and
// the host name checked; NODE_TLS_REJECT_UNAUTHORIZED=0 turns that off, as it does for fetch), opened on
// the event loop's own sockets. One handler set serves every socket; each hands its events to the
// exchange it carries, if any.
import type { Socket, SocketHandler } from "bun";

/** What a connection's socket events go to while it carries a request. */
export interface Wire {
  data(bytes: Buffer): void;
  drain(): void;
  closed(error: Error | undefined): void;
}

/** Idle connections are closed after this long (upstreams close theirs after about a minute). */
const IDLE_SECONDS = 20;
/** Idle connections kept per origin; more are closed when they come back. */
const MAX_IDLE = 256;

export class Connection {
  socket!: Socket<Connection>;
  wire: Wire | null = null;
  /** It carried a request before: a close before any answer means the upstream dropped it while idle. */
  reused = false;
  closed = false;
  handshake?: { resolve: () => void; reject: (e: Error) => void };
  constructor(readonly origin: string) {}
}

const idle = new Map<string, Connection[]>();

function forget(conn: Connection): void {
  const list = idle.get(conn.origin);
  const at = list?.indexOf(conn) ?? -1;
  if (at !== -1) list!.splice(at, 1);
}

function lost(conn: Connection, error: Error | undefined): void {
  if (conn.closed) return;
  conn.closed = true;
  forget(conn);
  conn.handshake?.reject(error ?? Object.assign(new Error("The upstream closed the connection during the TLS handshake."), { code: "ECONNRESET" }));
  conn.handshake = undefined;
  const wire = conn.wire;
  conn.wire = null;
  wire?.closed(error);
}

const handlers: SocketHandler<Connection> = {
  data(s, bytes) {
    if (s.data.wire) s.data.wire.data(bytes);
    else s.terminate(); // bytes nobody asked for: the connection is not trusted again
  },
  drain(s) {
    s.data.wire?.drain();
  },
  handshake(s, ok, error) {
    const h = s.data.handshake;
    s.data.handshake = undefined;
    if (ok && (!error || process.env.NODE_TLS_REJECT_UNAUTHORIZED === "0")) return h?.resolve();
    h?.reject(Object.assign(new Error(`The upstream's TLS certificate was refused: ${error?.message ?? "handshake failed"}`), { code: (error as { code?: string } | null)?.code ?? "ERR_TLS_HANDSHAKE" }));
    s.terminate();
  },
  close(s, error) {
    lost(s.data, error);
  },
  error(s, error) {
    lost(s.data, error);
  },
  timeout(s) {
    if (!s.data.wire) s.terminate();
  },
};

/** The key connections are pooled under. */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** A fresh connection to the URL's origin (TLS for https:, its handshake and certificate checked). */
export async function connect(url: URL): Promise<Connection> {
  const tls = url.protocol === "https:";
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port || (tls ? 443 : 80));
  const conn = new Connection(originOf(url));
  const handshake = tls ? new Promise<void>((resolve, reject) => (conn.handshake = { resolve, reject })) : undefined;
  conn.socket = await Bun.connect<Connection>({ hostname, port, tls: tls ? { serverName: hostname } : undefined, data: conn, socket: handlers });
  conn.socket.setNoDelay(true);
  if (handshake) await handshake;
  return conn;
}

/** An idle connection to the origin, or undefined. */
export function takeIdle(origin: string): Connection | undefined {
  const list = idle.get(origin);
  for (let conn = list?.pop(); conn; conn = list!.pop()) {
    if (conn.closed || conn.socket.readyState !== 1) continue;
    conn.socket.timeout(0);
    return conn;
  }
  return undefined;
}

/** A connection whose answer ended cleanly goes back to the pool. */
export function release(conn: Connection): void {
  conn.wire = null;
  if (conn.closed) return;
  const list = idle.get(conn.origin) ?? [];
  if (list.length >= MAX_IDLE) return void conn.socket.terminate();
  conn.reused = true;
  conn.socket.timeout(IDLE_SECONDS);
  list.push(conn);
  idle.set(conn.origin, list);
}

/** A connection that cannot carry another request. */
export function discard(conn: Connection): void {
  conn.wire = null;
  conn.closed = true;
  forget(conn);
  conn.socket?.terminate();
}

/** Idle connections per origin (what the tests read). */
export function idleCount(origin: string): number {
  return idle.get(origin)?.length ?? 0;
}
