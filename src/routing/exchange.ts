// One customer request's exchange with the upstream, shared by every inbound API: the providers to try
// (each request shaped by its upstream type), retries and fallbacks, the deadline, and the abort when
// the customer goes away.
import type { Endpoint } from "../upstreams/provider-config.ts";
import type { RequestReport } from "../observe/report.ts";
import type { Router, Route } from "./router.ts";
import { sendWithFallbacks, UpstreamFetchError } from "./retry.ts";
import { classify, type FetchFailure } from "./upstream-outcome.ts";
import { UPSTREAM_TYPES } from "../upstreams/index.ts";
import { pathOf, urlOf, type Adapter, type CallContext } from "../upstreams/types.ts";
import { sendUpstream, type UpstreamInit } from "../upstreams/transport/http1.ts";

export interface ExchangeOptions {
  endpoint: Endpoint;
  candidates: Route[];
  router: Router;
  /** The model as the customer named it (the body names none when it was defaulted). */
  model: string;
  ctx: Omit<CallContext, "upstreamModel" | "sameModel" | "provider">;
  requestId: string;
  /** Waiting for an answer's headers, or for the next streamed chunk, ends after this long. */
  timeoutMs: number;
  /** The customer's request: its going away aborts the upstream request (streams). */
  clientSignal?: AbortSignal;
  /** Notes the time to the answer's headers and the fallbacks taken. */
  report?: RequestReport;
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

/**
 * The upstream request for one provider: its URL, its headers (the operator's key, or a signature over
 * the whole request) and the body in its API. `path` defaults to the adapter's.
 */
export async function upstreamRequest(route: Route, adapter: Adapter, o: Pick<ExchangeOptions, "model" | "ctx" | "requestId">, path: string | undefined, signal: AbortSignal): Promise<{ url: string; init: UpstreamInit & { headers: Record<string, string>; body: string } }> {
  const type = UPSTREAM_TYPES[route.provider.type];
  const ctx: CallContext = { ...o.ctx, upstreamModel: route.upstreamModel, provider: route.provider, sameModel: route.upstreamModel === o.model && o.ctx.body.model !== undefined };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: o.ctx.stream ? "text/event-stream" : "application/json",
    "x-request-id": o.requestId,
    ...type.headers(route.provider, o.ctx.customerHeaders),
  };
  const url = urlOf(type, route.provider, path ?? pathOf(adapter, route.provider, route.upstreamModel, o.ctx.stream));
  const body = adapter.body(ctx);
  const signed = type.sign ? await type.sign(route.provider, url, { method: "POST", headers, body }) : headers;
  return { url, init: { method: "POST", headers: signed, body, signal } };
}

/**
 * Sends the request to the first provider that answers. Until an answer's headers arrive, a provider
 * that does not answer within the deadline counts as a failed attempt (retried, then the next
 * provider); after that, the deadline is an idle timeout that ends the request.
 */
export async function exchange(o: ExchangeOptions): Promise<Exchange> {
  // One AbortController per attempt (they cost microseconds on the hot path): the current one is
  // aborted by the deadline, the customer going away, or the stream going silent.
  let current: AbortController | undefined;
  let stopped = false; // no further attempt: the customer went away or the answer went silent
  const stopping = { get aborted() { return stopped; } };
  let answered = false;
  let timedOut = false;
  let attemptTimedOut = false;
  let timer: Timer | undefined;
  let lastActivity = Date.now();
  let firstSent = 0;
  const stop = () => {
    stopped = true;
    current?.abort();
  };
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
      stop();
    } else {
      attemptTimedOut = true;
      current?.abort();
    }
  };
  const activity = () => {
    lastActivity = Date.now();
    timer ??= setTimeout(fire, o.timeoutMs);
  };
  o.clientSignal?.addEventListener("abort", stop, { once: true });
  const done = () => {
    clearTimeout(timer);
    timer = undefined;
    o.clientSignal?.removeEventListener("abort", stop);
  };

  const send = async (route: Route) => {
    const adapter = adapterFor(route, o.endpoint);
    current = new AbortController();
    if (stopped) current.abort();
    const { url, init } = await upstreamRequest(route, adapter, o, undefined, current.signal);
    attemptTimedOut = false;
    activity();
    firstSent ||= performance.now();
    return sendUpstream(url, init);
  };

  try {
    const sent = await sendWithFallbacks(o.candidates, send, stopping, o.router);
    answered = true;
    if (o.report) {
      o.report.upstreamMs = performance.now() - firstSent;
      o.report.fallbacks = o.candidates.indexOf(sent.route);
    }
    activity();
    return { ...sent, adapter: adapterFor(sent.route, o.endpoint), abort: stop, activity, timedOut: () => timedOut, done };
  } catch (err) {
    done();
    if (!(err instanceof UpstreamFetchError)) throw err;
    const clientGone = o.clientSignal?.aborted === true;
    if (o.report) o.report.provider = (err.route ?? o.candidates[0]!).provider.name;
    throw new ExchangeFailed(classify(err.cause, attemptTimedOut, clientGone), err.route ?? o.candidates[0]!, err.attempts, err.cause);
  }
}
