import { sendUpstream } from "../../upstreams/transport/http1.ts";
import type { ProviderConfig } from "../../upstreams/provider-config.ts";
import { createRelay } from "../relay.ts";
import type { UsageQueries } from "../../usage/queries.ts";
import { ApiError, invalidRequest } from "../../errors.ts";
import { estimateCompletionTokens } from "../../usage/estimate.ts";
import { parseJsonObject, readStreamFlag, requireModel, type ProxyCall } from "../request.ts";
import { outputItemIds, RESPONSES_STREAM, readResponsesUsage } from "./relay.ts";
import { createSurfaceProxy, type Surface, type SurfaceProxyOptions } from "../pipeline.ts";
import { classify, fetchError, readUpstreamText, upstreamError, UpstreamTooLarge, upstreamTooLarge } from "../../routing/upstream-outcome.ts";
import { UPSTREAM_TYPES } from "../../upstreams/index.ts";
import { urlOf } from "../../upstreams/types.ts";

export interface ResponsesProxyOptions extends SurfaceProxyOptions {
  /** Where stored responses are found: the usage rows' response ids. */
  usage: UsageQueries;
  providers: ProviderConfig[];
}

/** What the gateway relies on in a Responses request; every other field is the upstream's business. */
export function parseResponsesRequest(text: string, defaultModel?: string): { body: Record<string, unknown>; model: string; stream: boolean } {
  const b = parseJsonObject(text);
  return { body: b, model: requireModel(b.model, { defaultModel }), stream: readStreamFlag(b.stream) };
}

const RESPONSES: Surface = {
  endpoint: "responses",
  capField: "max_output_tokens",
  errorShape: "openai",
  relay: (o) => createRelay(o, RESPONSES_STREAM),
  parse: parseResponsesRequest,
  countPromptTokens: (body) => estimateCompletionTokens(JSON.stringify(body.input ?? "") + JSON.stringify(body.instructions ?? "")),
  summarize: (response) => ({
    usage: readResponsesUsage(response),
    modelAnswered: typeof response.model === "string" ? response.model : null,
    responseId: typeof response.id === "string" ? response.id : null,
    itemIds: outputItemIds(response),
    text: typeof response.output_text === "string" ? response.output_text : "",
  }),
};

/**
 * POST /v1/responses (OpenAI's Responses API), streaming or not, and GET/DELETE /v1/responses/{id}
 * passed through to the provider that served that response, for the key that created it only.
 */
export function createResponsesProxy(opts: ResponsesProxyOptions) {
  const log = opts.log ?? console.error;
  const notCreatedHere = (id: string, param: string) => new ApiError(404, `No response with id '${id}' was created with this key.`, "invalid_request_error", "not_found", param);

  /**
   * What continuing stored state adds to the prompt: a previous response of this key adds its own prompt
   * and answer, at most; a referenced item, its answer's output; a stored prompt, up to the context window.
   * A previous response or an item of another key, or a conversation (the gateway creates none), is a
   * 404 and never forwarded.
   */
  async function hiddenInput(body: Record<string, unknown>, call: ProxyCall): Promise<{ tokens: number; opaque: boolean }> {
    const conversation = body.conversation;
    if (conversation !== undefined && conversation !== null) {
      const id = typeof conversation === "string" ? conversation : String((conversation as { id?: unknown }).id ?? "");
      throw new ApiError(404, `No conversation with id '${id}' was created with this key.`, "invalid_request_error", "not_found", "conversation");
    }
    let tokens = 0;
    const previous = body.previous_response_id;
    if (previous !== undefined && previous !== null) {
      if (typeof previous !== "string") throw invalidRequest("Invalid type for 'previous_response_id': expected a string.", "previous_response_id", "invalid_type");
      const found = await opts.usage.storedResponse(previous, call.key.id);
      if (!found) throw notCreatedHere(previous, "previous_response_id");
      tokens += found.tokens;
    }
    // Items of earlier answers, by id: each must come from an answer of this key; each adds at most its answer's output.
    const references = (Array.isArray(body.input) ? body.input : []).flatMap((i) =>
      i && typeof i === "object" && (i as { type?: unknown }).type === "item_reference" ? [String((i as { id?: unknown }).id ?? "")] : [],
    );
    if (references.length > 0) {
      const referenced = await opts.usage.itemTokens(references, call.key.id);
      if (referenced === undefined) {
        const shown = references.slice(0, 3).join("', '");
        throw new ApiError(404, `Items '${shown}'${references.length > 3 ? " ..." : ""} were not all created with this key.`, "invalid_request_error", "not_found", "input");
      }
      tokens += referenced;
    }
    // A stored prompt is the operator's: it is bounded by the model's context window.
    return { tokens, opaque: body.prompt !== undefined && body.prompt !== null };
  }

  const create = createSurfaceProxy({ ...RESPONSES, hiddenInput }, opts);

  /** GET or DELETE of a stored response, at the provider that served it; only its own key may. */
  async function stored(method: "GET" | "DELETE", id: string, call: ProxyCall): Promise<Response> {
    const servedBy = (await opts.usage.storedResponse(id, call.key.id))?.provider;
    const provider = servedBy !== undefined && opts.providers.find((p) => p.name === servedBy);
    if (!provider) throw notCreatedHere(id, "response_id");
    let res: Response;
    try {
      const type = UPSTREAM_TYPES[provider.type];
      const headers = { ...type.headers(provider), "x-request-id": call.requestId };
      res = await sendUpstream(urlOf(type, provider, `/responses/${encodeURIComponent(id)}`), { method, headers, signal: AbortSignal.timeout(opts.upstreamTimeoutMs) });
    } catch (err) {
      throw fetchError(classify(err, false, false), { provider, upstreamModel: "" }, opts.upstreamTimeoutMs, log, err);
    }
    let text: string;
    try {
      text = await readUpstreamText(res, opts.maxUpstreamBytes);
    } catch (err) {
      if (err instanceof UpstreamTooLarge) throw upstreamTooLarge({ provider, upstreamModel: "" }, err.limit, log);
      throw fetchError(classify(err, false, false), { provider, upstreamModel: "" }, opts.upstreamTimeoutMs, log, err);
    }
    if (!res.ok) return upstreamError(res, text, { provider, upstreamModel: "" }, async () => {}, log);
    return new Response(text, { status: res.status, headers: { ...(call.headers as Record<string, string>), "content-type": "application/json" } });
  }

  return { create, stored };
}

export type ResponsesProxy = ReturnType<typeof createResponsesProxy>;
