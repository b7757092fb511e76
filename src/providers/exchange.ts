// One customer request's exchange with the upstream, shared by every inbound API: the providers to try
// (each request shaped by its upstream type), retries and fallbacks, the deadline, and the abort when
// the customer goes away.
import type { Endpoint } from "../config.ts";
import type { Router, Route } from "./router.ts";
import { sendWithFallbacks, UpstreamFetchError } from "./retry.ts";
import { classify, type FetchFailure } from "./upstream-outcome.ts";
import { UPSTREAM_TYPES } from "./upstreams/index.ts";
import type { Adapter, CallContext } from "./upstreams/types.ts";

export interface ExchangeOptions {
  endpoint: Endpoint;
  candidates: Route[];
  router: Router;
  /** The model as the customer named it (the body names none when it was defaulted). */
  model: string;
  ctx: Omit<CallContext, "upstreamModel" | "sameModel">;
  requestId: string;
  /** Waiting for an answer's headers, or for the next streamed chunk, ends after this long. */
  timeoutMs: number;
  /** The customer's request: its going away aborts the upstream request (streams). */
  clientSignal?: AbortSignal;
}

export interface Exchange {
  res: Response;
  /** The provider that answered, and how it was asked. */
  route: Route;
  adapter: Adapter;
  attempts: number;
  /** Aborts the upstream request (the customer went away). */
  abort(): void;
  /** The upstream sent something: the idle deadline restarts. */
  activity(): void;
  timedOut(): boolean;
  /** Stops the deadline (the answer is complete). */
  done(): void;
}

/** The upstream could not be asked: why, which provider was tried last, and how many attempts it took. */
export class ExchangeFailed extends Error {
  constructor(
    readonly failure: FetchFailure,
    readonly route: Route,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`upstream exchange failed: ${failure}`);
  }
}

export function adapterFor(route: Route, endpoint: Endpoint): Adapter {
  return UPSTREAM_TYPES[route.provider.type].adapters[endpoint]!;
}

/** The upstream request for one provider: its URL, its headers (the operator's key) and the body in its API. */
export function upstreamRequest(route: Route, adapter: Adapter, o: Pick<ExchangeOptions, "model" | "ctx" | "requestId">, path = adapter.path): { url: string; init: RequestInit } {
  const type = UPSTREAM_TYPES[route.provider.type];
  const ctx: CallContext = { ...o.ctx, upstreamModel: route.upstreamModel, sameModel: route.upstreamModel === o.model && o.ctx.body.model !== undefined };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: o.ctx.stream ? "text/event-stream" : "application/json",
    "x-request-id": o.requestId,
    ...type.headers(route.provider, o.ctx.customerHeaders),
  };
  return { url: `${route.provider.baseUrl}${path}`, init: { method: "POST", headers, body: adapter.body(ctx) } };
}

/**
 * Sends the request to the first provider that answers. Until an answer's headers arrive, a provider
 * that does not answer within the deadline counts as a failed attempt (retried, then the next
 * provider); after that, the deadline is an idle timeout that ends the request.
 */
export async function exchange(o: ExchangeOptions): Promise<Exchange> {
  const outer = new AbortController();
  let current = new AbortController();
  let answered = false;
  let timedOut = false;
  let attemptTimedOut = false;
  let timer: Timer | undefined;
  let lastActivity = Date.now();
  // One timer per request: activity only moves a timestamp, and the timer re-arms itself for what is
  // left when it fires early (re-creating a timer per streamed chunk cost more than the chunk).
  const fire = () => {
    const idle = Date.now() - lastActivity;
    if (idle < o.timeoutMs) {
      timer = setTimeout(fire, o.timeoutMs - idle);
      return;
    }
    timer = undefined;
    if (answered) {
      timedOut = true;
      outer.abort();
    } else {
      attemptTimedOut = true;
      current.abort();
    }
  };
  const activity = () => {
    lastActivity = Date.now();
    timer ??= setTimeout(fire, o.timeoutMs);
  };
  const onClientAbort = () => outer.abort();
  o.clientSignal?.addEventListener("abort", onClientAbort, { once: true });
  outer.signal.addEventListener("abort", () => current.abort(), { once: true });
  const done = () => {
    clearTimeout(timer);
    timer = undefined;
    o.clientSignal?.removeEventListener("abort", onClientAbort);
  };

  const send = (route: Route) => {
    const adapter = adapterFor(route, o.endpoint);
    const { url, init } = upstreamRequest(route, adapter, o);
    current = new AbortController();
    if (outer.signal.aborted) current.abort();
    attemptTimedOut = false;
    activity();
    return fetch(url, { ...init, signal: current.signal });
  };

  try {
    const sent = await sendWithFallbacks(o.candidates, send, outer.signal, o.router);
    answered = true;
    activity();
    return {
      ...sent,
      adapter: adapterFor(sent.route, o.endpoint),
      abort: () => outer.abort(),
      activity,
      timedOut: () => timedOut,
      done,
    };
  } catch (err) {
    done();
    if (!(err instanceof UpstreamFetchError)) throw err;
    const clientGone = o.clientSignal?.aborted === true;
    throw new ExchangeFailed(classify(err.cause, attemptTimedOut, clientGone), err.route ?? o.candidates[0]!, err.attempts, err.cause);
  }
}
