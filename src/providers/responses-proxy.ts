import type { Db } from "../db/client.ts";
import { ApiError } from "../errors.ts";
import { readBody } from "../http/body.ts";
import { estimateCompletionTokens } from "../usage/estimate.ts";
import { costNanoUsd, findPrice } from "../usage/pricing.ts";
import { parseJsonObject, readStreamFlag, requireModel, type ProxyCall, type ProxyDeps } from "./proxy.ts";
import type { ReportedUsage } from "./openai-compatible.ts";
import { exchange, ExchangeFailed, type Exchange } from "./exchange.ts";
import { UPSTREAM_TYPES } from "./upstreams/index.ts";
import { RESPONSES_STREAM, readResponsesUsage } from "./responses-relay.ts";
import { createTailRelay } from "./tail-relay.ts";
import { routeFor } from "./router.ts";
import type { ProviderConfig } from "../config.ts";
import { badUpstreamResponse, classify, fetchError, plausible, upstreamError } from "./upstream-outcome.ts";

export interface ResponsesProxyOptions extends ProxyDeps {
  /** Where stored responses are found: the usage rows' response ids. */
  db: Db;
  providers: ProviderConfig[];
  defaultModel?: string;
}

/** What the gateway relies on in a Responses request; every other field is the upstream's business. */
export function parseResponsesRequest(text: string, defaultModel?: string): { body: Record<string, unknown>; model: string; stream: boolean } {
  const b = parseJsonObject(text);
  return { body: b, model: requireModel(b.model, { defaultModel }), stream: readStreamFlag(b.stream) };
}

/**
 * POST /v1/responses (OpenAI's Responses API), streaming or not, and GET/DELETE /v1/responses/{id}
 * passed through to the provider that served that response, for the key that created it only.
 */
export function createResponsesProxy(opts: ResponsesProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;
  const servedBy = opts.db.$client.query<{ provider: string }, [string, string]>("SELECT provider FROM usage WHERE response_id = ? AND key_id = ? LIMIT 1");

  async function create(req: Request, call: ProxyCall): Promise<Response> {
    opts.health.assertWritable();
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const { body, model, stream } = parseResponsesRequest(sent, opts.defaultModel);
    const candidates = routeFor(opts.route, model, "responses");
    let route = candidates[0]!;
    const countTokens = () => estimateCompletionTokens(JSON.stringify(body.input ?? "") + JSON.stringify(body.instructions ?? ""));
    const ticket = await opts.admission.admit(call.key, { model, upstreamModel: route.upstreamModel, provider: route.provider.name, body, text: sent, countTokens }, call.headers);
    let streaming = false;
    try {
      const started = clock();
      let attempts = 1;
      const record = async (status: number, reported: ReportedUsage | undefined, modelAnswered: string | null, responseId: string | null, outputText: string) => {
        const trusted = plausible(reported, call.requestId, log);
        const counts = trusted ?? { promptTokens: await countTokens(), completionTokens: await estimateCompletionTokens(outputText), cachedTokens: null, reasoningTokens: null };
        const cost = costNanoUsd(findPrice(opts.prices, modelAnswered, route.upstreamModel, model), counts);
        await opts.recorder.record(
          {
            requestId: call.requestId, keyId: call.key.id, modelRequested: model, modelAnswered, provider: route.provider.name, ...counts, costNanoUsd: cost,
            estimated: trusted === undefined, upstreamStatus: status, latencyMs: clock() - started, streamed: stream, createdAt: started, responseId, attempts,
          },
          () => ticket.settle({ tokens: counts.promptTokens + counts.completionTokens, costNanoUsd: cost, createdAt: started }),
        );
      };
      let ex: Exchange;
      try {
        ex = await exchange({
          endpoint: "responses", candidates, router: opts.route, model, requestId: call.requestId, timeoutMs: opts.upstreamTimeoutMs,
          ctx: { text: sent, body, stream, wantsUsage: false, maxOutputTokens: 0, customerHeaders: req.headers },
        });
      } catch (err) {
        if (!(err instanceof ExchangeFailed)) throw err;
        ({ route, attempts } = err);
        if (err.failure !== "unreachable") await record(0, undefined, null, null, "");
        throw fetchError(err.failure, route, opts.upstreamTimeoutMs, log, err.cause);
      }
      ({ route, attempts } = ex);
      const res = ex.res;
      if (res.ok && stream && (res.headers.get("content-type") ?? "").includes("text/event-stream") && res.body) {
        streaming = true;
        const relay = createTailRelay({
          upstream: res.body,
          format: RESPONSES_STREAM,
          abortUpstream: ex.abort,
          onActivity: ex.activity,
          upstreamErrorMessage: () => (ex.timedOut() ? `The upstream sent nothing for ${opts.upstreamTimeoutMs} ms; the response is incomplete.` : "The upstream connection broke off mid-stream; the response is incomplete."),
          onEnd: async (o) => {
            ex.done();
            try {
              await record(res.status, o.usage, o.modelAnswered, o.responseId ?? null, o.text);
            } finally {
              ticket.release();
            }
          },
        });
        return new Response(relay, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        await record(res.status, undefined, null, null, "");
        throw fetchError(classify(err, ex.timedOut(), false), route, opts.upstreamTimeoutMs, log, err);
      } finally {
        ex.done();
      }
      if (!res.ok) return upstreamError(res, text, route, (status, u) => record(status, u, null, null, ""), log);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(text) as Record<string, unknown>;
        if (!payload || typeof payload !== "object") throw new Error("not an object");
      } catch {
        await record(res.status, undefined, null, null, "");
        throw badUpstreamResponse(route);
      }
      const outputText = typeof payload.output_text === "string" ? payload.output_text : "";
      await record(res.status, readResponsesUsage(payload), typeof payload.model === "string" ? payload.model : null, typeof payload.id === "string" ? payload.id : null, outputText);
      return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "application/json" } });
    } finally {
      if (!streaming) ticket.release();
    }
  }

  /** GET or DELETE of a stored response, at the provider that served it; only its own key may. */
  async function stored(method: "GET" | "DELETE", id: string, call: ProxyCall): Promise<Response> {
    const row = servedBy.get(id, call.key.id);
    const provider = row && opts.providers.find((p) => p.name === row.provider);
    if (!provider) throw new ApiError(404, `No response with id '${id}' was created with this key.`, "invalid_request_error", "not_found", "response_id");
    let res: Response;
    try {
      const headers = { ...UPSTREAM_TYPES[provider.type].headers(provider), "x-request-id": call.requestId };
      res = await fetch(`${provider.baseUrl}/responses/${encodeURIComponent(id)}`, { method, headers, signal: AbortSignal.timeout(opts.upstreamTimeoutMs) });
    } catch (err) {
      throw fetchError(classify(err, false, false), { provider, upstreamModel: "" }, opts.upstreamTimeoutMs, log, err);
    }
    const text = await res.text();
    if (!res.ok) return upstreamError(res, text, { provider, upstreamModel: "" }, async () => {}, log);
    return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "application/json" } });
  }

  return { create, stored };
}

export type ResponsesProxy = ReturnType<typeof createResponsesProxy>;
