// Anthropic Messages over any upstream that chat is translated for (Gemini, Bedrock): the request goes
// through chat on its way in, the answer and its stream through chat on the way out.
import type { Adapter, CallContext } from "../types.ts";
import { chatCompletionToMessage, chatEventsToMessages, messagesToChatRequest } from "./messages-via-openai.ts";
import { transformEvents } from "./sse.ts";

/** The messages adapter of a type whose chat adapter translates (it must have `answer` and `events`). */
export function messagesViaChat(chat: Adapter): Adapter {
  const answer = chat.answer!;
  const events = chat.events!;
  return {
    path: chat.path,
    body: (ctx: CallContext) => {
      const body = messagesToChatRequest(ctx.body, ctx.upstreamModel, ctx.stream, ctx.outputLimit(ctx.upstreamModel));
      return chat.body({ ...ctx, body, text: JSON.stringify(body), sameModel: false });
    },
    answer: (payload, request) => chatCompletionToMessage(answer(payload, request)),
    events: (upstream, context) => transformEvents(events(upstream, context), chatEventsToMessages(context?.promptTokens)),
    countsPrompt: true,
    ...(chat.streamType ? { streamType: chat.streamType } : {}),
  };
}
