import { readBody } from "../http/body.ts";
import { estimateCompletionTokens } from "../usage/estimate.ts";
import { costNanoUsd, findPrice } from "../usage/pricing.ts";
import { invalidRequest as invalid, parseJsonObject, requireModel, type ProxyCall, type ProxyDeps } from "./proxy.ts";
import { exchange, ExchangeFailed } from "./exchange.ts";
import type { ReportedUsage } from "./openai-compatible.ts";
import { routeFor } from "./router.ts";
import { badUpstreamResponse, classify, fetchError, plausible, upstreamError } from "./upstream-outcome.ts";

export type EmbeddingsProxyOptions = ProxyDeps;

/** Validates what the gateway relies on (model, input); every other field is the upstream's business. */
export function parseEmbeddingsRequest(text: string): { body: Record<string, unknown>; model: string } {
  const b = parseJsonObject(text);
  const model = requireModel(b.model, null);
  const input = b.input;
  const ok = typeof input === "string" || (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "string" || typeof x === "number" || Array.isArray(x)));
  if (input === undefined) throw invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter");
  if (!ok) throw invalid("Invalid 'input': expected a string, an array of strings, or token arrays.", "input", "invalid_type");
  return { body: b, model };
}

/** Embeddings report `prompt_tokens` only; anything malformed counts as absent, absurd as suspect. */
function readEmbeddingUsage(value: unknown): ReportedUsage | undefined {
  const u = value as { prompt_tokens?: unknown } | null;
  if (!u || typeof u !== "object" || u.prompt_tokens === undefined) return undefined;
  const n = u.prompt_tokens;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) return { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null, suspect: JSON.stringify(n) };
  return { promptTokens: n, completionTokens: 0, cachedTokens: null, reasoningTokens: null };
}

/** Token count of an embeddings input: the tokenizer for text, the length of token arrays. */
async function estimateInputTokens(input: unknown): Promise<number> {
  if (typeof input === "string") return estimateCompletionTokens(input);
  let n = 0;
  for (const item of Array.isArray(input) ? input : []) n += typeof item === "string" ? await estimateCompletionTokens(item) : Array.isArray(item) ? item.length : 1;
  return n;
}

/**
 * POST /v1/embeddings after authentication: validate, route, admit (input only: nothing is generated),
 * forward with the operator's key, and commit the row (prompt tokens at the input price) before answering.
 */
export function createEmbeddingsProxy(opts: EmbeddingsProxyOptions) {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? console.error;

  return async function embeddings(req: Request, call: ProxyCall): Promise<Response> {
    opts.health.assertWritable();
    const sent = await readBody(req, { limit: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
    call.holdOpen?.();
    const { body, model } = parseEmbeddingsRequest(sent);
    const candidates = routeFor(opts.route, model, "embeddings");
    let route = candidates[0]!;
    const ticket = await opts.admission.admit(call.key, { model, upstreamModel: route.upstreamModel, provider: route.provider.name, body, text: sent, outputTokens: 0, countTokens: () => estimateInputTokens(body.input) }, call.headers);
    try {
      const started = clock();
      let attempts = 1;
      const record = async (status: number, reported: ReportedUsage | undefined, modelAnswered: string | null) => {
        const trusted = plausible(reported, call.requestId, log);
        const counts = trusted ?? { promptTokens: await estimateInputTokens(body.input), completionTokens: 0, cachedTokens: null, reasoningTokens: null };
        const cost = costNanoUsd(findPrice(opts.prices, modelAnswered, route.upstreamModel, model), counts);
        await opts.recorder.record(
          {
            requestId: call.requestId, keyId: call.key.id, modelRequested: model, modelAnswered, provider: route.provider.name, ...counts, costNanoUsd: cost,
            estimated: trusted === undefined, upstreamStatus: status, latencyMs: clock() - started, streamed: false, createdAt: started, attempts,
          },
          () => ticket.settle({ tokens: counts.promptTokens, costNanoUsd: cost, createdAt: started }),
        );
      };
      let res: Response;
      let text: string;
      try {
        const ex = await exchange({
          endpoint: "embeddings", candidates, router: opts.route, model, requestId: call.requestId, timeoutMs: opts.upstreamTimeoutMs,
          ctx: { text: sent, body, stream: false, wantsUsage: false, maxOutputTokens: 0, customerHeaders: req.headers },
        });
        ({ res, route, attempts } = ex);
        try {
          text = await res.text();
        } catch (err) {
          await record(res.status, undefined, null);
          throw fetchError(classify(err, ex.timedOut(), false), route, opts.upstreamTimeoutMs, log, err);
        } finally {
          ex.done();
        }
      } catch (err) {
        if (!(err instanceof ExchangeFailed)) throw err;
        ({ route, attempts } = err);
        if (err.failure !== "unreachable") await record(0, undefined, null);
        throw fetchError(err.failure, route, opts.upstreamTimeoutMs, log, err.cause);
      }
      if (!res.ok) return upstreamError(res, text, route, (status, u) => record(status, u, null), log);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(text) as Record<string, unknown>;
        if (!payload || typeof payload !== "object") throw new Error("not an object");
      } catch {
        await record(res.status, undefined, null);
        throw badUpstreamResponse(route);
      }
      await record(res.status, readEmbeddingUsage(payload.usage), typeof payload.model === "string" ? payload.model : null);
      return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "application/json" } });
    } finally {
      ticket.release();
    }
  };
}

export type EmbeddingsProxy = ReturnType<typeof createEmbeddingsProxy>;
