// The connection to the Redis that several instances share: scripts run with a deadline, and while
// Redis cannot be reached callers fall back to counting in their own process (one warning; sharing
// resumes by itself when Redis answers again).
import type { RedisClient } from "bun";

export interface RedisLinkOptions {
  url: string;
  /** A Redis answer slower than this counts as unreachable (a request is never held up longer). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** A timer this late means the event loop stalled, not Redis. */
const STALL_MS = 100;

export function createRedisLink({ url, timeoutMs = 1000, log = console.error }: RedisLinkOptions) {
  // No offline queue: while disconnected a command fails at once instead of waiting for a reconnect.
  const redis = new Bun.RedisClient(url, { enableOfflineQueue: false, connectionTimeout: 2000, autoReconnect: true, maxRetries: 4_294_967_295 });
  const where = new URL(url).host;
  let degraded = false;

  const failed = (err: unknown) => {
    if (!degraded) log(`[gateway] redis at ${where} unreachable (${(err as Error)?.message ?? err}): limits are counted per instance until it answers again`);
    degraded = true;
  };

  // Scripts are sent by their SHA1 (EVALSHA): the body, hashed by Redis on every EVAL, goes only once.
  const shas = new Map<string, string>();
  const evaluate = async (script: string, rest: string[]): Promise<unknown> => {
    let sha = shas.get(script);
    if (!sha) shas.set(script, (sha = new Bun.CryptoHasher("sha1").update(script).digest("hex")));
    try {
      return await redis.send("EVALSHA", [sha, ...rest]);
    } catch (err) {
      if (!(err as Error)?.message?.includes("NOSCRIPT")) throw err;
      return redis.send("EVAL", [script, ...rest]); // first use on this Redis (or after a restart): loads it
    }
  };

  /** Runs a Lua script; undefined when Redis cannot be reached in time (the caller counts locally). */
  function run(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return withDeadline(evaluate(script, [String(keys.length), ...keys, ...args.map(String)]));
  }

  /** One plain command (GET, SET ...); undefined when Redis cannot be reached in time. */
  function command(name: string, args: string[]): Promise<unknown> {
    return withDeadline(redis.send(name, args));
  }

  async function withDeadline(answer: Promise<unknown>): Promise<unknown> {
    let timer: Timer | undefined;
    try {
      // Redis's deadline, not this process's: when the event loop itself stalled (the command may not even
      // have been written yet), the timer fires late and the deadline starts again from then, once.
      const late = new Promise<never>((_, reject) => {
        let due = performance.now() + timeoutMs;
        let extended = false;
        const fire = () => {
          if (!extended && performance.now() - due > STALL_MS) {
            extended = true;
            due = performance.now() + timeoutMs;
            timer = setTimeout(fire, timeoutMs);
            return;
          }
          setImmediate(() => reject(new Error(`no answer within ${timeoutMs} ms`))); // an answer already read wins
        };
        timer = setTimeout(fire, timeoutMs);
      });
      const result = await Promise.race([answer, late]);
      if (degraded) {
        degraded = false;
        log(`[gateway] redis at ${where} answers again: limits are shared across instances`);
      }
      return result;
    } catch (err) {
      // A script error is a bug, not an outage: it is logged as such, and the caller counts locally.
      if ((err as Error)?.message?.includes("ERR")) log(`[gateway] redis script failed: ${(err as Error).message}`);
      else failed(err);
      return undefined;
    } finally {
      clearTimeout(timer);
      answer.catch(() => {}); // a late failure of a command already given up on is not an unhandled rejection
    }
  }

  // Connected before the first request where possible (without an offline queue a command sent while
  // connecting fails); an unreachable Redis at start is a warning, not an error.
  const ready = Promise.race([redis.connect(), Bun.sleep(2000).then(() => Promise.reject(new Error("no connection within 2000 ms")))]).catch(failed);

  return { run, command, ready, close: () => redis.close() };
}

export type RedisLink = ReturnType<typeof createRedisLink>;
