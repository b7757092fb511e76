// OpenAI-compatible upstreams (OpenAI, Azure OpenAI's v1 API, OpenRouter, vLLM, Ollama, ...): chat,
// responses and embeddings pass through; Anthropic Messages requests are translated to chat.
import { chatCompletionToMessage, chatEventsToMessages, messagesToChatRequest } from "./translate/messages-via-openai.ts";
import { transformEvents } from "./translate/sse.ts";
import { withModel, type CallContext, type UpstreamType } from "./types.ts";

/**
 * Chat goes out as the customer's own bytes when nothing needs to change; otherwise the same JSON with
 * the routed model and, for streams, `stream_options.include_usage` switched on.
 */
export function chatBody(ctx: CallContext): string {
  if (!ctx.stream || ctx.wantsUsage) return withModel(ctx);
  if (ctx.sameModel && ctx.body.stream_options === undefined) return `${ctx.text.trimEnd().slice(0, -1)},"stream_options":{"include_usage":true}}`;
  return JSON.stringify({ ...ctx.body, model: ctx.upstreamModel, stream_options: { ...(ctx.body.stream_options as object | null | undefined), include_usage: true } });
}

export const openai: UpstreamType = {
  headers: (provider): Record<string, string> => (provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {}),
  errorShape: "openai",
  modelEntry: (m) => (typeof m.id === "string" ? { id: m.id, created: typeof m.created === "number" ? m.created : 0 } : undefined),
  adapters: {
    chat: { path: "/chat/completions", body: chatBody },
    responses: { path: "/responses", body: withModel },
    embeddings: { path: "/embeddings", body: withModel },
    messages: {
      path: "/chat/completions",
      body: (ctx) => JSON.stringify(messagesToChatRequest(ctx.body, ctx.upstreamModel, ctx.stream, ctx.outputLimit(ctx.upstreamModel))),
      answer: chatCompletionToMessage,
      events: (upstream, context) => transformEvents(upstream, chatEventsToMessages(context?.promptTokens)),
      countsPrompt: true,
    },
  },
};
