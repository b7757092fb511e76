// Anthropic's Messages API: /v1/messages passes through (with the customer's anthropic-version and
// anthropic-beta); chat completions are translated to messages and back.
import { anthropicEventsToChat, anthropicToChatCompletion, chatToAnthropicRequest } from "./translate/chat-via-anthropic.ts";
import { transformEvents } from "./translate/sse.ts";
import { withModel, type UpstreamType } from "./types.ts";

export const ANTHROPIC_VERSION = "2023-06-01";

export const anthropic: UpstreamType = {
  headers(provider, customer) {
    const headers: Record<string, string> = { "anthropic-version": customer?.get("anthropic-version") ?? ANTHROPIC_VERSION };
    const beta = customer?.get("anthropic-beta");
    if (beta) headers["anthropic-beta"] = beta;
    if (provider.apiKey) headers["x-api-key"] = provider.apiKey;
    return headers;
  },
  errorShape: "anthropic",
  modelEntry: (m) => (typeof m.id === "string" ? { id: m.id, created: typeof m.created_at === "string" ? Math.floor(Date.parse(m.created_at) / 1000) || 0 : 0 } : undefined),
  adapters: {
    messages: { path: "/messages", body: withModel, countPath: "/messages/count_tokens" },
    chat: {
      path: "/messages",
      body: (ctx) => JSON.stringify(chatToAnthropicRequest(ctx.body, ctx.upstreamModel, ctx.maxOutputTokens(ctx.upstreamModel), ctx.stream)),
      answer: anthropicToChatCompletion,
      events: (upstream) => transformEvents(upstream, anthropicEventsToChat()),
    },
  },
};
