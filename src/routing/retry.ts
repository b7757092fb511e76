// Retries of an upstream request, only before anything reached the customer: connection failures and
// 429/500/502/503/504, with exponential backoff and jitter, honouring Retry-After up to a cap.
import type { ProviderConfig } from "../upstreams/provider-config.ts";
import { ApiError } from "../errors.ts";
import type { Route } from "./router.ts";
import { classify } from "./upstream-outcome.ts";

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
/** Answers after which the next provider is tried: the retryable ones, and a provider refusing the operator's key. */
const FALL_BACK = new Set([...RETRYABLE, 401, 403]);

/** A failed fetch, with how many attempts were made (for the usage row) and the provider tried last. */
export class UpstreamFetchError extends Error {
  constructor(
    readonly cause: unknown,
    readonly attempts: number,
    readonly route?: Route,
  ) {
    super("upstream fetch failed");
  }
}

/** Whether the request was given up (the customer went away, or the deadline passed): no further attempt. */
export interface Stopping {
  readonly aborted: boolean;
}

/** What a provider's failures and successes are reported to (the router's cooldown). */
export interface ProviderHealth {
  failed(name: string): void;
  succeeded(name: string): void;
}

/**
 * Tries the providers in order, each with its retries, until one answers with something other than a
 * failure (or the last one answered); the customer sees that one answer. Throws UpstreamFetchError
 * (with the attempts of all providers) when the last fetch failed or `signal` aborted.
 */
export async function sendWithFallbacks(candidates: Route[], send: (route: Route) => Promise<Response>, signal: Stopping, health: ProviderHealth): Promise<{ res: Response; route: Route; attempts: number }> {
  let attempts = 0;
  for (const [i, route] of candidates.entries()) {
    const last = i === candidates.length - 1;
    try {
      const sent = await sendWithRetries(route.provider, () => send(route), signal);
      attempts += sent.attempts;
      if (!FALL_BACK.has(sent.res.status)) {
        health.succeeded(route.provider.name);
        return { res: sent.res, route, attempts };
      }
      health.failed(route.provider.name);
      if (last || signal.aborted) return { res: sent.res, route, attempts };
      await sent.res.body?.cancel().catch(() => {});
    } catch (err) {
      if (!(err instanceof UpstreamFetchError)) throw err;
      attempts += err.attempts;
      if (!signal.aborted) health.failed(route.provider.name);
      if (last || signal.aborted) throw new UpstreamFetchError(err.cause, attempts, route);
    }
  }
  throw new Error("no provider to send to");
}

/** The wait before attempt `attempt + 1`: the upstream's Retry-After (seconds or a date) or 250 ms × 2^n with jitter, capped. */
export function retryDelay(attempt: number, retryAfter: string | null, maxWaitMs: number, now = Date.now()): number {
  let ms: number | undefined;
  if (retryAfter) {
    const seconds = Number(retryAfter);
    ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) ms = 250 * 2 ** (attempt - 1) * (0.5 + Math.random());
  return Math.min(ms, maxWaitMs);
}

/**
 * Sends until an answer that is not retryable, the provider's retries are used up, or `signal` aborts
 * (timeout, client gone). Returns the response and the attempts made; a last fetch failure is thrown as
 * UpstreamFetchError.
 */
export async function sendWithRetries(provider: ProviderConfig, send: () => Promise<Response>, signal: Stopping): Promise<{ res: Response; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const last = attempt > provider.maxRetries;
    let res: Response;
    try {
      res = await send();
    } catch (err) {
      // The request could not even be built for this provider (a translation refused it): not a fetch failure.
      if (err instanceof ApiError) throw err;
      const failure = classify(err, false, false);
      if (last || signal.aborted || (failure !== "unreachable" && failure !== "broken")) throw new UpstreamFetchError(err, attempt);
      await Bun.sleep(retryDelay(attempt, null, provider.retryMaxWaitMs));
      continue;
    }
    if (last || !RETRYABLE.has(res.status) || signal.aborted) return { res, attempts: attempt };
    const wait = retryDelay(attempt, res.headers.get("retry-after"), provider.retryMaxWaitMs);
    await res.body?.cancel().catch(() => {});
    await Bun.sleep(wait);
    if (signal.aborted) throw new UpstreamFetchError(new DOMException("aborted", "AbortError"), attempt);
  }
}
