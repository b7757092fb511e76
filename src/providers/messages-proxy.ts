// POST /v1/messages and /v1/messages/count_tokens (Anthropic's Messages API, what Claude Code speaks):
// passed through to Anthropic providers, translated to chat completions for OpenAI-compatible ones.
import { readBody } from "../http/body.ts";
import { estimateCompletionTokens } from "../usage/estimate.ts";
import { costNanoUsd, findPrice } from "../usage/pricing.ts";
import { adapterFor, exchange, ExchangeFailed, upstreamRequest, type Exchange } from "./exchange.ts";
import { MESSAGES_STREAM, readAnthropicUsage } from "./messages-relay.ts";
import type { ReportedUsage } from "./openai-compatible.ts";
import { invalidRequest, parseJsonObject, readStreamFlag, requireModel, type ProxyCall, type ProxyDeps } from "./proxy.ts";
import { routeFor } from "./router.ts";
import { createTailRelay } from "./tail-relay.ts";
import { badUpstreamResponse, classify, fetchError, plausible, upstreamError } from "./upstream-outcome.ts";

export interface MessagesProxyOptions extends ProxyDeps {
  defaultModel?: string;
}

/** What the gateway relies on in a Messages request; every other field is the upstream's business. */
export function parseMessagesRequest(text: string, defaultModel?: string): { body: Record<string, unknown>; model: string; stream: boolean } {
  const b = parseJsonObject(text);
  const model = requireModel(b.model, { defaultModel });
  if (b.messages === undefined) throw invalidRequest("messages: Field required.", "messages", "missing_required_parameter");
  if (!Array.isArray(b.messages)) throw invalidRequest("messages: Input should be a valid list.", "messages", "invalid_type");
  return { body: b, model, stream: readStreamFlag(b.stream) };
}

/** The prompt's tokens by the gateway's tokenizer (system, messages and tools as the model reads them, roughly). */
function countPromptTokens(body: Record<string, unknown>): Promise<number> {
  return estimateCompletionTokens(JSON.stringify([body.system ?? "", body.messages, body.tools ?? []]));
}

export function createMessagesProxy(opts: MessagesProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;

  async function create(req: Request, call: ProxyCall): Promise<Response> {
    opts.health.assertWritable();
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const { body, model, stream } = parseMessagesRequest(sent, opts.defaultModel);
    const candidates = routeFor(opts.route, model, "messages");
    let route = candidates[0]!;
    const countTokens = () => countPromptTokens(body);
    const ticket = await opts.admission.admit(call.key, { model, upstreamModel: route.upstreamModel, provider: route.provider.name, body, text: sent, countTokens }, call.headers);
    let streaming = false;
    try {
      const started = clock();
      let attempts = 1;
      const record = async (status: number, reported: ReportedUsage | undefined, modelAnswered: string | null, outputText: string) => {
        const trusted = plausible(reported, call.requestId, log);
        const counts = trusted ?? { promptTokens: await countTokens(), completionTokens: await estimateCompletionTokens(outputText), cachedTokens: null, reasoningTokens: null };
        const cost = costNanoUsd(findPrice(opts.prices, modelAnswered, route.upstreamModel, model), counts);
        await opts.recorder.record(
          {
            requestId: call.requestId, keyId: call.key.id, modelRequested: model, modelAnswered, provider: route.provider.name, ...counts, costNanoUsd: cost,
            estimated: trusted === undefined, upstreamStatus: status, latencyMs: clock() - started, streamed: stream, createdAt: started, attempts,
          },
          () => ticket.settle({ tokens: counts.promptTokens + counts.completionTokens, costNanoUsd: cost, createdAt: started }),
        );
      };
      let ex: Exchange;
      try {
        ex = await exchange({
          endpoint: "messages", candidates, router: opts.route, model, requestId: call.requestId, timeoutMs: opts.upstreamTimeoutMs, clientSignal: stream ? req.signal : undefined,
          ctx: { text: sent, body, stream, wantsUsage: false, maxOutputTokens: opts.maxOutputTokens(route.upstreamModel), customerHeaders: req.headers },
        });
      } catch (err) {
        if (!(err instanceof ExchangeFailed)) throw err;
        ({ route, attempts } = err);
        if (err.failure !== "unreachable") await record(0, undefined, null, "");
        throw fetchError(err.failure, route, opts.upstreamTimeoutMs, log, err.cause);
      }
      ({ route, attempts } = ex);
      const res = ex.res;
      if (res.ok && stream && (res.headers.get("content-type") ?? "").includes("text/event-stream") && res.body) {
        streaming = true;
        const relay = createTailRelay({
          upstream: ex.adapter.events ? ex.adapter.events(res.body) : res.body,
          format: MESSAGES_STREAM,
          abortUpstream: ex.abort,
          onActivity: ex.activity,
          upstreamErrorMessage: () => (ex.timedOut() ? `The upstream sent nothing for ${opts.upstreamTimeoutMs} ms; the response is incomplete.` : "The upstream connection broke off mid-stream; the response is incomplete."),
          onEnd: async (o) => {
            ex.done();
            try {
              await record(res.status, o.usage, o.modelAnswered, o.text);
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
        await record(res.status, undefined, null, "");
        throw fetchError(classify(err, ex.timedOut(), false), route, opts.upstreamTimeoutMs, log, err);
      } finally {
        ex.done();
      }
      if (!res.ok) return upstreamError(res, text, route, (status, u) => record(status, u, null, ""), log, "anthropic");
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(text) as Record<string, unknown>;
        if (!payload || typeof payload !== "object") throw new Error("not an object");
      } catch {
        await record(res.status, undefined, null, "");
        throw badUpstreamResponse(route);
      }
      if (ex.adapter.answer) {
        payload = ex.adapter.answer(payload);
        text = JSON.stringify(payload);
      }
      const outputText = (Array.isArray(payload.content) ? payload.content : []).map((b: { text?: unknown }) => (typeof b?.text === "string" ? b.text : "")).join("");
      await record(res.status, readAnthropicUsage(payload.usage), typeof payload.model === "string" ? payload.model : null, outputText);
      return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "application/json" } });
    } finally {
      if (!streaming) ticket.release();
    }
  }

  /**
   * Token counting: asked of providers that offer it (Anthropic's is free), otherwise counted with the
   * gateway's tokenizer. Generates nothing, so it is neither limited nor recorded as usage.
   */
  async function countTokens(req: Request, call: ProxyCall): Promise<Response> {
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    const { body, model } = parseMessagesRequest(sent, opts.defaultModel);
    const route = routeFor(opts.route, model, "messages")[0]!;
    const headers = { ...(call.headers as Record<string, string>), "content-type": "application/json" };
    const adapter = adapterFor(route, "messages");
    if (!adapter.countPath) return new Response(JSON.stringify({ input_tokens: await countPromptTokens(body) }), { headers });
    const ctx = { text: sent, body, stream: false, wantsUsage: false, maxOutputTokens: 0, customerHeaders: req.headers };
    const { url, init } = upstreamRequest(route, adapter, { model, ctx, requestId: call.requestId }, adapter.countPath);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(opts.upstreamTimeoutMs) });
      text = await res.text();
    } catch (err) {
      throw fetchError(classify(err, false, false), route, opts.upstreamTimeoutMs, log, err);
    }
    if (!res.ok) return upstreamError(res, text, route, async () => {}, log, "anthropic");
    if (!/^\s*\{/.test(text)) throw badUpstreamResponse(route);
    return new Response(text, { headers });
  }

  return { create, countTokens };
}

export type MessagesProxy = ReturnType<typeof createMessagesProxy>;
