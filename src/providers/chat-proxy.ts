import { estimateCompletionTokens, estimatePromptTokens } from "../usage/estimate.ts";
import { costNanoUsd, findPrice } from "../usage/pricing.ts";
import type { UsageRecord } from "../usage/recorder.ts";
import type { Ticket } from "../admission/counters.ts";
import { readBody } from "../http/body.ts";
import { parseChatRequest, type ChatRequest } from "./chat-request.ts";
import { completionText, readUsage, upstreamInit, upstreamUrl, type ReportedUsage } from "./openai-compatible.ts";
import { routeFor, type Route } from "./router.ts";
import { createSseRelay } from "./sse-relay.ts";
import type { ProxyCall, ProxyDeps } from "./proxy.ts";
import { sendWithRetries, UpstreamFetchError } from "./retry.ts";
import { badUpstreamResponse, classify, fetchError, plausible, upstreamError } from "./upstream-outcome.ts";

export interface ChatProxyOptions extends ProxyDeps {
  /** Used when a request names no model. */
  defaultModel?: string;
}

/**
 * POST /v1/chat/completions after authentication and rate limiting: validate, route, forward with the
 * operator's provider key, relay the answer, and commit exactly one usage row for every request
 * that reached the upstream before the client sees the end of the response.
 */
export function createChatProxy(opts: ChatProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;

  return async function chat(req: Request, call: ProxyCall): Promise<Response> {
    // Refused before anything is forwarded: an answer whose row cannot be written would be unbillable.
    opts.health.assertWritable();
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const chatReq = parseChatRequest(sent, opts.defaultModel);
    const route = routeFor(opts.route, chatReq.model, "chat");
    const ticket = await opts.admission.admit(call.key, { model: chatReq.model, upstreamModel: route.upstreamModel, provider: route.provider.name, body: chatReq.body, text: sent }, call.headers);
    // The ticket is settled when the row commits; every other way out releases it (a stream, when it ends).
    let streaming = false;
    try {
      return await forward(req, call, chatReq, route, upstreamBody(sent, chatReq, route.upstreamModel), ticket, () => (streaming = true));
    } finally {
      if (!streaming) ticket.release();
    }
  };

  async function forward(req: Request, call: ProxyCall, chatReq: ChatRequest, route: Route, body: string, ticket: Ticket, streamStarted: () => void): Promise<Response> {
    const started = clock();
    let attempts = 1;
    // Non-streaming: a plain deadline. Streaming: the deadline restarts on every chunk (an idle
    // timeout), and a client that goes away aborts the upstream request.
    const abort = new AbortController();
    let timedOut = false;
    // One timer per request: activity only moves a timestamp, and the timer re-arms itself for what is
    // left when it fires early (re-creating a timer per streamed chunk cost more than the chunk).
    let timer: Timer | undefined;
    let lastActivity = 0;
    const fire = () => {
      const idle = Date.now() - lastActivity;
      if (idle < opts.upstreamTimeoutMs) {
        timer = setTimeout(fire, opts.upstreamTimeoutMs - idle);
        return;
      }
      timedOut = true;
      abort.abort();
    };
    const armTimeout = () => {
      lastActivity = Date.now();
      timer ??= setTimeout(fire, opts.upstreamTimeoutMs);
    };
    const onClientAbort = () => abort.abort();
    if (chatReq.stream) req.signal.addEventListener("abort", onClientAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      if (chatReq.stream) req.signal.removeEventListener("abort", onClientAbort);
    };

    const record = async (status: number, reported: ReportedUsage | undefined, modelAnswered: string | null, estimatedCompletion: string | null) => {
      const trusted = plausible(reported, call.requestId, log);
      const counts = trusted ?? {
        promptTokens: await estimatePromptTokens(chatReq.body),
        completionTokens: estimatedCompletion === null ? 0 : await estimateCompletionTokens(estimatedCompletion),
        cachedTokens: null,
        reasoningTokens: null,
      };
      const row: UsageRecord = {
        requestId: call.requestId,
        keyId: call.key.id,
        modelRequested: chatReq.model,
        modelAnswered,
        provider: route.provider.name,
        ...counts,
        costNanoUsd: costNanoUsd(findPrice(opts.prices, modelAnswered, route.upstreamModel, chatReq.model), counts),
        estimated: trusted === undefined,
        upstreamStatus: status,
        latencyMs: clock() - started,
        streamed: chatReq.stream,
        createdAt: started,
        attempts,
      };
      await opts.recorder.record(row, () =>
        ticket.settle({ tokens: row.promptTokens + row.completionTokens, costNanoUsd: row.costNanoUsd, createdAt: row.createdAt }),
      );
    };

    armTimeout();
    let res: Response;
    const init = upstreamInit(route.provider, body, call.requestId, chatReq.stream, abort.signal);
    try {
      ({ res, attempts } = await sendWithRetries(route.provider, () => fetch(upstreamUrl(route.provider), init), abort.signal));
    } catch (err) {
      cleanup();
      const cause = err instanceof UpstreamFetchError ? err.cause : err;
      if (err instanceof UpstreamFetchError) attempts = err.attempts;
      const failure = classify(cause, timedOut, chatReq.stream && req.signal.aborted);
      if (failure !== "unreachable") await record(0, undefined, null, null);
      throw fetchError(failure, route, opts.upstreamTimeoutMs, log, cause);
    }

    const contentType = res.headers.get("content-type") ?? "";
    if (res.ok && chatReq.stream && contentType.includes("text/event-stream") && res.body) {
      const body = createSseRelay({
        upstream: res.body,
        hideUsage: !chatReq.wantsUsage,
        abortUpstream: () => abort.abort(),
        clientGone: () => req.signal.aborted,
        onActivity: armTimeout,
        upstreamErrorMessage: () =>
          timedOut
            ? `The upstream sent nothing for ${opts.upstreamTimeoutMs} ms; the response is incomplete.`
            : "The upstream connection broke off mid-stream; the response is incomplete.",
        onEnd: async (outcome) => {
          cleanup();
          try {
            await record(res.status, outcome.usage, outcome.modelAnswered, outcome.text);
          } finally {
            ticket.release();
          }
        },
      });
      streamStarted();
      return new Response(body, {
        status: res.status,
        headers: { ...(call.headers as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
      });
    }

    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      cleanup();
      await record(res.status, undefined, null, null);
      throw fetchError(classify(err, timedOut, chatReq.stream && req.signal.aborted), route, opts.upstreamTimeoutMs, log, err);
    }
    cleanup();
    if (!res.ok) return upstreamError(res, text, route, record, log);

    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(text) as Record<string, unknown>;
      if (!payload || typeof payload !== "object") throw new Error("not an object");
    } catch {
      await record(res.status, undefined, null, null);
      log(`[gateway] request ${call.requestId}: provider '${route.provider.name}' answered ${res.status} with a body that is not JSON`);
      throw badUpstreamResponse(route);
    }
    const modelAnswered = typeof payload.model === "string" ? payload.model : null;
    await record(res.status, readUsage(payload.usage), modelAnswered, completionText(payload));
    return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": contentType || "application/json" } });
  }
}

export type ChatProxy = ReturnType<typeof createChatProxy>;

/**
 * The body sent upstream: the customer's own bytes when nothing needs to change; otherwise the same
 * JSON with the routed model name and, for streams, `stream_options.include_usage` switched on.
 */
export function upstreamBody(text: string, chatReq: ChatRequest, upstreamModel: string): string {
  const sameModel = upstreamModel === chatReq.model && !chatReq.modelDefaulted;
  if (!chatReq.stream && sameModel) return text;
  if (chatReq.stream && sameModel && chatReq.wantsUsage) return text;
  if (chatReq.stream && sameModel && chatReq.body.stream_options === undefined) {
    return `${text.trimEnd().slice(0, -1)},"stream_options":{"include_usage":true}}`;
  }
  const body: Record<string, unknown> = { ...chatReq.body, model: upstreamModel };
  if (chatReq.stream) body.stream_options = { ...(chatReq.body.stream_options as object | null | undefined), include_usage: true };
  return JSON.stringify(body);
}
