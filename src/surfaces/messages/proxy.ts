// POST /v1/messages and /v1/messages/count_tokens (Anthropic's Messages API, what Claude Code speaks):
// passed through to Anthropic providers, translated to chat completions for OpenAI-compatible ones.
import { sendUpstream } from "../../upstreams/transport/http1.ts";
import { MESSAGES_CACHE } from "./cache.ts";
import { readBody } from "../../http/body.ts";
import { createRelay } from "../relay.ts";
import { invalidRequest } from "../../errors.ts";
import { estimateCompletionTokens } from "../../usage/estimate.ts";
import { adapterFor, upstreamRequest } from "../../routing/exchange.ts";
import { messagesStream, readAnthropicUsage } from "./relay.ts";
import { parseJsonObject, readStreamFlag, requireModel, type ProxyCall } from "../request.ts";
import { routeFor } from "../../routing/router.ts";
import { createSurfaceProxy, type Surface, type SurfaceProxyOptions } from "../pipeline.ts";
import { badUpstreamResponse, classify, fetchError, readUpstreamText, upstreamError, UpstreamTooLarge, upstreamTooLarge } from "../../routing/upstream-outcome.ts";

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

const MESSAGES: Surface = {
  endpoint: "messages",
  capField: "max_tokens",
  errorShape: "anthropic",
  relay: (o) => createRelay(o, messagesStream()),
  cache: MESSAGES_CACHE,
  parse: parseMessagesRequest,
  countPromptTokens,
  summarize: (message) => ({
    usage: readAnthropicUsage(message.usage),
    modelAnswered: typeof message.model === "string" ? message.model : null,
    text: (Array.isArray(message.content) ? message.content : []).map((b: { text?: unknown }) => (typeof b?.text === "string" ? b.text : "")).join(""),
  }),
};

export function createMessagesProxy(opts: SurfaceProxyOptions) {
  const log = opts.log ?? console.error;
  const create = createSurfaceProxy(MESSAGES, opts);

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
    const ctx = { text: sent, body, stream: false, wantsUsage: false, maxOutputTokens: opts.maxOutputTokens, outputLimit: opts.outputLimit, customerHeaders: req.headers };
    const { url, init } = await upstreamRequest(route, adapter, { model, ctx, requestId: call.requestId }, adapter.countPath, AbortSignal.timeout(opts.upstreamTimeoutMs));
    let res: Response;
    let text: string;
    try {
      res = await sendUpstream(url, init);
      text = await readUpstreamText(res, opts.maxUpstreamBytes);
    } catch (err) {
      if (err instanceof UpstreamTooLarge) throw upstreamTooLarge(route, err.limit, log);
      throw fetchError(classify(err, false, false), route, opts.upstreamTimeoutMs, log, err);
    }
    if (!res.ok) return upstreamError(res, text, route, async () => {}, log, "anthropic");
    if (!/^\s*\{/.test(text)) throw badUpstreamResponse(route);
    return new Response(text, { headers });
  }

  return { create, countTokens };
}

export type MessagesProxy = ReturnType<typeof createMessagesProxy>;
