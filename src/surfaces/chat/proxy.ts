import { estimateCompletionTokens, estimatePromptTokens } from "../../usage/estimate.ts";
import type { ReportedUsage } from "../../usage/reported.ts";
import { costNanoUsd } from "../../usage/pricing.ts";
import type { UsageRecord } from "../../usage/record.ts";
import type { AdmissionTicket } from "../../admission/admit.ts";
import { chargeRow, withOutputCap } from "../bounded.ts";
import { boundServerTools } from "../server-tools.ts";
import { chatCapField } from "../../upstreams/translate/output-cap.ts";
import { readBody } from "../../http/body.ts";
import { parseChatRequest, type ChatRequest } from "./request.ts";
import { exchange, ExchangeFailed, type Exchange } from "../../routing/exchange.ts";
import { completionText, readUsage } from "../openai-usage.ts";
import { routeFor, type Route } from "../../routing/router.ts";
import { createSseRelay } from "./relay.ts";
import { firstByte, type ProxyCall, type ProxyDeps } from "../request.ts";
import { holdReport, releaseReport } from "../../observe/report.ts";
import { badUpstreamResponse, classify, fetchError, plausible, readUpstreamText, upstreamError, UpstreamTooLarge, upstreamTooLarge } from "../../routing/upstream-outcome.ts";

export interface ChatProxyOptions extends ProxyDeps {
  /** Used when a request names no model. */
  defaultModel?: string;
}

/**
 * POST /v1/chat/completions after authentication and rate limiting: validate, route, forward with the
 * operator's provider key (translated for providers that speak another API), relay the answer, and
 * commit exactly one usage row for every request that reached the upstream before the client sees
 * the end of the response.
 */
export function createChatProxy(opts: ChatProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;

  return async function chat(req: Request, call: ProxyCall): Promise<Response> {
    // Refused before anything is forwarded: an answer whose row cannot be written would be unbillable.
    opts.health.assertWritable();
    let sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const chatReq = parseChatRequest(sent, opts.defaultModel);
    if (call.report) call.report.modelRequested = chatReq.model;
    const candidates = routeFor(opts.route, chatReq.model, "chat");
    const first = candidates[0]!;
    boundServerTools(call.key, "chat", chatReq.body, 0);
    const fallbackModels = candidates.length > 1 ? candidates.slice(1).map((c) => c.upstreamModel) : undefined;
    const ticket = await opts.admission.admit(call.key, { model: chatReq.model, upstreamModel: first.upstreamModel, provider: first.provider.name, fallbackModels, body: chatReq.body, text: sent }, call.headers);
    if (ticket.outputCap !== null) ({ body: chatReq.body, text: sent } = withOutputCap(chatReq.body, sent, ticket, chatCapField(first.upstreamModel)));
    // The ticket is settled when the row commits; every other way out releases it (a stream, when it ends).
    let streaming = false;
    try {
      return await forward(req, call, chatReq, sent, candidates, ticket, () => (streaming = true));
    } finally {
      if (!streaming) ticket.release();
    }
  };

  async function forward(req: Request, call: ProxyCall, chatReq: ChatRequest, sent: string, candidates: Route[], ticket: AdmissionTicket, streamStarted: () => void): Promise<Response> {
    const started = clock();
    let route = candidates[0]!;
    let attempts = 1;

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
        costNanoUsd: costNanoUsd(opts.prices.find([modelAnswered, route.upstreamModel, chatReq.model], started, route.provider.name), counts),
        estimated: trusted === undefined,
        upstreamStatus: status,
        latencyMs: clock() - started,
        streamed: chatReq.stream,
        createdAt: started,
        attempts,
      };
      const tokens = chargeRow(row, ticket, log);
      if (call.report) call.report.row = row;
      await opts.recorder.record(row, () => ticket.settle({ tokens, costNanoUsd: row.costNanoUsd, createdAt: row.createdAt }));
    };

    let ex: Exchange;
    try {
      ex = await exchange({
        endpoint: "chat",
        candidates,
        router: opts.route,
        model: chatReq.model,
        ctx: { text: sent, body: chatReq.body, stream: chatReq.stream, wantsUsage: chatReq.wantsUsage, maxOutputTokens: opts.maxOutputTokens, outputLimit: opts.outputLimit, customerHeaders: req.headers },
        requestId: call.requestId,
        timeoutMs: opts.upstreamTimeoutMs,
        clientSignal: chatReq.stream ? req.signal : undefined,
        report: call.report,
      });
    } catch (err) {
      if (!(err instanceof ExchangeFailed)) throw err;
      ({ route, attempts } = err);
      if (err.failure !== "unreachable") await record(0, undefined, null, null);
      throw fetchError(err.failure, route, opts.upstreamTimeoutMs, log, err.cause);
    }
    ({ route, attempts } = ex);
    const res = ex.res;

    const contentType = res.headers.get("content-type") ?? "";
    if (res.ok && chatReq.stream && contentType.includes("text/event-stream") && res.body) {
      const body = createSseRelay({
        upstream: ex.adapter.events ? ex.adapter.events(res.body) : res.body,
        hideUsage: !chatReq.wantsUsage,
        abortUpstream: ex.abort,
        clientGone: () => req.signal.aborted,
        onActivity: call.report ? firstByte(call.report, ex.activity) : ex.activity,
        maxBytes: opts.maxUpstreamBytes,
        upstreamErrorMessage: () =>
          ex.timedOut()
            ? `The upstream sent nothing for ${opts.upstreamTimeoutMs} ms; the response is incomplete.`
            : "The upstream connection broke off mid-stream; the response is incomplete.",
        onEnd: async (outcome) => {
          ex.done();
          if (call.report) call.report.bytesOut = outcome.bytesOut;
          try {
            await record(res.status, outcome.usage, outcome.modelAnswered, outcome.text);
          } finally {
            ticket.release();
            releaseReport(call.report);
          }
        },
      });
      streamStarted();
      holdReport(call.report);
      return new Response(body, {
        status: res.status,
        headers: { ...(call.headers as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
      });
    }

    let text: string;
    try {
      text = await readUpstreamText(res, opts.maxUpstreamBytes);
    } catch (err) {
      ex.done();
      await record(res.status, undefined, null, null);
      if (err instanceof UpstreamTooLarge) throw upstreamTooLarge(route, err.limit, log);
      throw fetchError(classify(err, ex.timedOut(), chatReq.stream && req.signal.aborted), route, opts.upstreamTimeoutMs, log, err);
    }
    ex.done();
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
    if (ex.adapter.answer) {
      payload = ex.adapter.answer(payload);
      text = JSON.stringify(payload);
    }
    const modelAnswered = typeof payload.model === "string" ? payload.model : null;
    await record(res.status, readUsage(payload.usage), modelAnswered, completionText(payload));
    if (call.report) call.report.bytesOut = Buffer.byteLength(text);
    return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": ex.adapter.answer ? "application/json" : contentType || "application/json" } });
  }
}

export type ChatProxy = ReturnType<typeof createChatProxy>;
