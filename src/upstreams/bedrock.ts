// AWS Bedrock's Converse API: chat and Anthropic Messages translated to /model/{modelId}/converse (and
// /converse-stream, answered as AWS's binary event stream), every request signed with SigV4 by
// aws4fetch (small, no dependencies, signs with WebCrypto) using the provider's region and credentials.
import { AwsV4Signer } from "aws4fetch";
import { chatToConverseRequest, converseEventsToChat, converseToChatCompletion } from "./translate/chat-via-converse.ts";
import { transformAwsEvents } from "./translate/event-stream.ts";
import { messagesViaChat } from "./translate/via-chat.ts";
import type { Adapter, UpstreamType } from "./types.ts";

const chat: Adapter = {
  path: (_provider, model, stream) => `/model/${encodeURIComponent(model)}/${stream ? "converse-stream" : "converse"}`,
  body: (ctx) => JSON.stringify(chatToConverseRequest(ctx.body)),
  answer: converseToChatCompletion,
  events: (upstream, context) => transformAwsEvents(upstream, converseEventsToChat(context?.upstreamModel ?? "")),
  streamType: "application/vnd.amazon.eventstream",
};

export const bedrock: UpstreamType = {
  headers: () => ({}),
  errorShape: "own",
  // Bedrock's errors are `{"message": "..."}`, with the kind in the x-amzn-ErrorType header.
  errorMessage: (payload) => (typeof payload.message === "string" ? { message: payload.message } : typeof payload.Message === "string" ? { message: payload.Message } : undefined),
  async sign(provider, url, init) {
    const aws = provider.aws!;
    const signer = new AwsV4Signer({ ...init, url, service: "bedrock", region: aws.region, accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey, ...(aws.sessionToken ? { sessionToken: aws.sessionToken } : {}) });
    const signed = await signer.sign();
    return Object.fromEntries(signed.headers);
  },
  adapters: { chat, messages: messagesViaChat(chat) },
};
