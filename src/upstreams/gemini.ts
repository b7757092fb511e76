// Google's Gemini API (generativelanguage.googleapis.com): chat and Anthropic Messages translated to
// generateContent (streamed as server-sent events with alt=sse), embeddings to batchEmbedContents.
import { chatToGeminiRequest, geminiEventsToChat, geminiToChatCompletion } from "./translate/chat-via-gemini.ts";
import { embeddingsToGemini, geminiToEmbeddings } from "./translate/embeddings-via-gemini.ts";
import { transformEvents } from "./translate/sse.ts";
import { messagesViaChat } from "./translate/via-chat.ts";
import type { Adapter, UpstreamType } from "./types.ts";

const model = (name: string) => `/models/${encodeURIComponent(name)}`;

const chat: Adapter = {
  path: (_provider, name, stream) => (stream ? `${model(name)}:streamGenerateContent?alt=sse` : `${model(name)}:generateContent`),
  body: (ctx) => JSON.stringify(chatToGeminiRequest(ctx.body)),
  answer: geminiToChatCompletion,
  events: (upstream) => transformEvents(upstream, geminiEventsToChat()),
};

export const gemini: UpstreamType = {
  headers: (provider): Record<string, string> => (provider.apiKey ? { "x-goog-api-key": provider.apiKey } : {}),
  errorShape: "own",
  // Google answers a wrong API key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
  refusesCredentials: (status, text) => status === 400 && text.includes("API_KEY_INVALID"),
  adapters: {
    chat,
    messages: messagesViaChat(chat),
    embeddings: {
      path: (_provider, name) => `${model(name)}:batchEmbedContents`,
      body: (ctx) => JSON.stringify(embeddingsToGemini(ctx.body, ctx.upstreamModel)),
      answer: (payload, request) => geminiToEmbeddings(payload, request.upstreamModel, request.body.encoding_format),
    },
  },
};
