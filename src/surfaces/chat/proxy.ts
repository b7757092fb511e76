// OpenAI's chat completions as one surface of the pipeline: its request, its usage (from the answer, or
// from the usage chunk the gateway asks for when streaming, hidden again unless the customer asked), its
// relay, and its output cap's field (max_completion_tokens for OpenAI's reasoning models).
import { estimatePromptTokens } from "../../usage/estimate.ts";
import { chatCapField } from "../../upstreams/translate/output-cap.ts";
import { completionText, readUsage } from "../openai-usage.ts";
import { createSurfaceProxy, type Surface, type SurfaceProxyOptions } from "../pipeline.ts";
import { CHAT_CACHE } from "./cache.ts";
import { createChatRelay } from "./relay.ts";
import { parseChatRequest } from "./request.ts";

export const CHAT: Surface = {
  endpoint: "chat",
  errorShape: "openai",
  capField: chatCapField,
  parse: parseChatRequest,
  countPromptTokens: estimatePromptTokens,
  relay: (o) => createChatRelay({ ...o, hideUsage: !o.wantsUsage }),
  cache: CHAT_CACHE,
  summarize: (completion) => ({
    usage: readUsage(completion.usage),
    modelAnswered: typeof completion.model === "string" ? completion.model : null,
    text: completionText(completion),
  }),
};

/**
 * POST /v1/chat/completions after authentication and rate limiting: validate, route, forward with the
 * operator's provider key (translated for providers that speak another API), relay the answer, and
 * commit exactly one usage row for every request that reached the upstream before the client sees
 * the end of the response.
 */
export function createChatProxy(opts: SurfaceProxyOptions) {
  return createSurfaceProxy(CHAT, opts);
}

export type ChatProxy = ReturnType<typeof createChatProxy>;
