// The proxy of an inbound API other than chat (OpenAI's Responses and embeddings, Anthropic's Messages;
// chat has its own, tuned hot path): validate, route, admit, forward (translated where the provider
// speaks another API), relay a stream whose last events carry the usage, and commit exactly one row
// before the response ends.
import type { Endpoint } from "../upstreams/provider-config.ts";
import type { ReportedUsage } from "../usage/reported.ts";
import type { ErrorShape } from "../errors.ts";
import { readBody } from "../http/body.ts";
import { estimateCompletionTokens } from "../usage/estimate.ts";
import { costNanoUsd } from "../usage/pricing.ts";
import { adapterFor, exchange, ExchangeFailed, type Exchange } from "../routing/exchange.ts";
import { firstByte, type ProxyCall, type ProxyDeps } from "./request.ts";
import { holdReport, releaseReport } from "../observe/report.ts";
import type { UsageRecord } from "../usage/record.ts";
import { routeFor } from "../routing/router.ts";
import { chargeRow, withOutputCap } from "./bounded.ts";
import { settleOnCommit } from "../admission/counters.ts";
import { formatUsd } from "../admission/money.ts";
import { boundServerTools } from "./server-tools.ts";
import type { RelayOptions, StreamSummary } from "./relay.ts";
import { tapEvents, type CacheFormat } from "../cache/collect.ts";
import { cacheLookup, storeInCache } from "./cached.ts";
import { bodySource } from "../upstreams/transport/http1.ts";
import { badUpstreamResponse, classify, fetchError, plausible, readUpstreamText, upstreamError, UpstreamTooLarge, upstreamTooLarge } from "../routing/upstream-outcome.ts";

/** What a surface's relay is given: the upstream's events, what to do when they end, and (chat) whether the customer asked for the usage chunk itself. */
export type SurfaceRelayOptions = RelayOptions & { wantsUsage: boolean };

/** What one inbound API is: how its requests are read and its answers understood. */
export interface Surface {
  endpoint: Endpoint;
  errorShape: ErrorShape;
  /** Relays its event stream, for an API that streams (reading the usage on the way). */
  relay?(o: SurfaceRelayOptions): ReadableStream<Uint8Array>;
  /** The body, the model (the operator's default when it names none), the stream flag, and whether a chat
   * customer asked for the usage chunk; throws the 400. */
  parse(text: string, defaultModel: string | undefined): { body: Record<string, unknown>; model: string; stream: boolean; wantsUsage?: boolean };
  /** The prompt's tokens by the gateway's tokenizer (admission, and rows without reported usage). */
  countPromptTokens(body: Record<string, unknown>): Promise<number>;
  /** What a request can generate at most, when the API says (embeddings: 0); else from max_tokens. */
  outputTokens?: number;
  /** The field of the output cap the gateway sends when the request sets none (an API that generates); chat's depends on the model. */
  capField?: string | ((upstreamModel: string) => string);
  /**
   * Prompt tokens the provider adds from state it stores (a previous response's conversation); throws the
   * 404 for a reference the key did not create (never forwarded).
   */
  hiddenInput?(body: Record<string, unknown>, call: ProxyCall): Promise<{ tokens: number; opaque: boolean }>;
  /** Usage, model, id and text of a JSON answer in this API's shape. */
  summarize(answer: Record<string, unknown>): StreamSummary;
  /** A streamed answer in the response cache: replayed from, and collected into, this API's JSON (absent: streams bypass the cache). */
  cache?: CacheFormat;
}

export interface SurfaceProxyOptions extends ProxyDeps {
  defaultModel?: string;
}

export function createSurfaceProxy(surface: Surface, opts: SurfaceProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;

  return async function create(req: Request, call: ProxyCall): Promise<Response> {
    opts.health.assertWritable();
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const parsed = surface.parse(sent, opts.defaultModel);
    const { model, stream } = parsed;
    if (call.report) call.report.modelRequested = model;
    const candidates = routeFor(opts.route, model, surface.endpoint);
    let route = candidates[0]!;
    const cached = await cacheLookup(surface, { req, call, model, route, body: parsed.body, stream, wantsUsage: parsed.wantsUsage ?? false, opts, started: clock() });
    if (cached.response) return cached.response;
    const tools = surface.endpoint === "embeddings" ? { calls: 0 } : boundServerTools(call.key, surface.endpoint, parsed.body, opts.defaultMaxToolCalls);
    const asked = tools.body ? { body: tools.body, text: JSON.stringify(tools.body) } : { body: parsed.body, text: sent };
    const hidden = surface.hiddenInput ? await surface.hiddenInput(parsed.body, call) : { tokens: 0, opaque: false };
    const countTokens = () => surface.countPromptTokens(parsed.body);
    const fallbackModels = candidates.length > 1 ? candidates.slice(1).map((c) => c.upstreamModel) : undefined;
    const ticket = await opts.admission.admit(
      call.key,
      { model, upstreamModel: route.upstreamModel, provider: route.provider.name, fallbackModels, body: asked.body, text: asked.text, countTokens, outputTokens: surface.outputTokens, hiddenPromptTokens: hidden.tokens, opaqueInput: hidden.opaque, webSearches: tools.calls },
      call.headers,
    );
    const capField = typeof surface.capField === "function" ? surface.capField(route.upstreamModel) : surface.capField;
    const { body, text: forwarded } = capField ? withOutputCap(asked.body, asked.text, ticket, capField) : asked;
    let streaming = false;
    try {
      const started = clock();
      let attempts = 1;
      const record = async (status: number, reported: ReportedUsage | undefined, answer: Omit<StreamSummary, "usage"> | null) => {
        const trusted = plausible(reported, call.requestId, log);
        const counts = trusted ?? { promptTokens: await countTokens(), completionTokens: await estimateCompletionTokens(answer?.text ?? ""), cachedTokens: null, reasoningTokens: null };
        const modelAnswered = answer?.modelAnswered ?? null;
        const cost = costNanoUsd(opts.prices.find([modelAnswered, route.upstreamModel, model], started, route.provider.name), counts);
        const row: UsageRecord = {
          requestId: call.requestId, keyId: call.key.id, modelRequested: model, modelAnswered, provider: route.provider.name, ...counts, costNanoUsd: cost,
          estimated: trusted === undefined, upstreamStatus: status, latencyMs: clock() - started, streamed: stream, createdAt: started, responseId: answer?.responseId ?? null, attempts,
          ...(answer?.itemIds?.length ? { itemIds: answer.itemIds } : {}),
        };
        const tokens = chargeRow(row, ticket, log);
        if (call.report) call.report.row = row;
        await opts.recorder.record(row, settleOnCommit(ticket, { tokens, costNanoUsd: row.costNanoUsd, createdAt: started }));
        return row;
      };
      // A translated stream states the prompt's tokens first: counted (off the event loop) while the upstream is asked.
      const counting = stream && adapterFor(route, surface.endpoint).countsPrompt ? countTokens().catch(() => undefined) : undefined;
      let ex: Exchange;
      try {
        ex = await exchange({
          endpoint: surface.endpoint, candidates, router: opts.route, model, requestId: call.requestId, timeoutMs: opts.upstreamTimeoutMs, clientSignal: stream ? req.signal : undefined,
          ctx: { text: forwarded, body, stream, wantsUsage: parsed.wantsUsage ?? false, maxOutputTokens: opts.maxOutputTokens, outputLimit: opts.outputLimit, customerHeaders: req.headers },
          report: call.report,
        });
      } catch (err) {
        if (!(err instanceof ExchangeFailed)) throw err;
        ({ route, attempts } = err);
        if (err.failure !== "unreachable") await record(0, undefined, null);
        throw fetchError(err.failure, route, opts.upstreamTimeoutMs, log, err.cause);
      }
      ({ route, attempts } = ex);
      const res = ex.res;
      const contentType = res.headers.get("content-type") ?? "";
      if (res.ok && stream && surface.relay && contentType.includes(ex.adapter.streamType ?? "text/event-stream") && res.body) {
        streaming = true;
        const collector = cached.plan.use ? surface.cache?.collector() : undefined;
        // The provider's own stream is read as chunks are pushed; a translated or collected one as a stream.
        const translated = ex.adapter.events ? ex.adapter.events(res.body, { promptTokens: await counting, upstreamModel: route.upstreamModel }) : collector ? res.body : undefined;
        const relay = surface.relay({
          upstream: translated ? (collector ? tapEvents(translated, collector) : translated) : bodySource(res),
          wantsUsage: parsed.wantsUsage ?? false,
          clientGone: () => req.signal.aborted,
          abortUpstream: ex.abort,
          onActivity: call.report ? firstByte(call.report, ex.activity) : ex.activity,
          maxBytes: opts.maxUpstreamBytes,
          upstreamErrorMessage: () => (ex.timedOut() ? `The upstream sent nothing for ${opts.upstreamTimeoutMs} ms; the response is incomplete.` : "The upstream connection broke off mid-stream; the response is incomplete."),
          onEnd: async (o) => {
            ex.done();
            if (call.report) call.report.bytesOut = o.bytesOut;
            try {
              const row = await record(res.status, o.usage, o);
              const answer = o.end === "done" ? collector?.answer() : undefined;
              if (answer && cached.plan.use) storeInCache(cached.plan, JSON.stringify(answer), row, opts);
              return row.costNanoUsd;
            } finally {
              ticket.release();
              releaseReport(call.report);
            }
          },
        });
        holdReport(call.report);
        return new Response(relay, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
      }
      let text: string;
      try {
        text = await readUpstreamText(res, opts.maxUpstreamBytes);
      } catch (err) {
        await record(res.status, undefined, null);
        if (err instanceof UpstreamTooLarge) throw upstreamTooLarge(route, err.limit, log);
        throw fetchError(classify(err, ex.timedOut(), false), route, opts.upstreamTimeoutMs, log, err);
      } finally {
        ex.done();
      }
      if (!res.ok) return upstreamError(res, text, route, (status, u) => record(status, u, null), log, surface.errorShape);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(text) as Record<string, unknown>;
        if (!payload || typeof payload !== "object") throw new Error("not an object");
      } catch {
        await record(res.status, undefined, null);
        throw badUpstreamResponse(route);
      }
      if (ex.adapter.answer) {
        payload = ex.adapter.answer(payload, { body, upstreamModel: route.upstreamModel });
        text = JSON.stringify(payload);
      }
      const answer = surface.summarize(payload);
      const row = await record(res.status, answer.usage, answer);
      const cost = row.costNanoUsd;
      if (cached.plan.use && res.status === 200) storeInCache(cached.plan, text, row, opts);
      if (call.report) call.report.bytesOut = Buffer.byteLength(text);
      const headers: Record<string, string> = { ...(call.headers as Record<string, string>), "content-type": ex.adapter.answer ? "application/json" : contentType || "application/json" };
      if (cost !== null) headers["x-gateway-cost-usd"] = formatUsd(cost);
      return new Response(text, { status: res.status, headers });
    } finally {
      if (!streaming) ticket.release();
    }
  };
}
