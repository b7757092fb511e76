import { Elysia, t } from "elysia";
import { anthropicErrors, MessageSchema } from "../../docs/schemas.ts";
import type { CustomerGate } from "../../keys/auth.ts";
import type { MessagesProxy } from "./proxy.ts";
import { callOf } from "../request.ts";

const messageRequest: { required: true; content: Record<string, { schema: Record<string, unknown>; example: unknown }> } = {
  required: true,
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["model", "messages"],
        additionalProperties: true,
        properties: { model: { type: "string" }, max_tokens: { type: "integer" }, messages: { type: "array", items: { type: "object" } }, stream: { type: "boolean" } },
      },
      example: { model: "claude-sonnet-4-5", max_tokens: 1024, messages: [{ role: "user", content: "Say hello in one word." }] },
    },
  },
};

/**
 * Anthropic's Messages API (Claude Code: ANTHROPIC_BASE_URL=<gateway>). The key is accepted as
 * `x-api-key` or `Authorization: Bearer`; errors are in Anthropic's shape (the app maps them by path).
 */
export function messagesRoutes({ gate, messages }: { gate: CustomerGate; messages: MessagesProxy }) {
  const security: Record<string, string[]>[] = [{ customerKey: [] }, { anthropicKey: [] }];
  return new Elysia({ name: "messages-routes" })
    .post(
      "/v1/messages",
      async ({ request, set, server }) => {
        const key = await gate(request, set.headers);
        return messages.create(request, callOf(request, set.headers, key, server));
      },
      {
        parse: "none",
        detail: {
          tags: ["Customer"],
          summary: "Create a message (Anthropic's Messages API), streaming or not",
          description:
            "Passed through to Anthropic providers (with your `anthropic-version` and `anthropic-beta` headers), translated to chat completions for OpenAI-compatible ones. With `stream: true` the answer is Anthropic's events; `message_delta` and `message_stop` are held until the usage row is committed.",
          security,
          requestBody: messageRequest,
        },
        response: { 200: MessageSchema, ...anthropicErrors(400, 401, 403, 404, 413, 429, 502, 503, 504) },
      },
    )
    .post(
      "/v1/messages/count_tokens",
      async ({ request, set }) => {
        // Counted against the request limit: counting is work the gateway or the provider does for the key.
        const key = await gate(request, set.headers);
        return messages.countTokens(request, callOf(request, set.headers, key));
      },
      {
        parse: "none",
        detail: {
          tags: ["Customer"],
          summary: "Count a message's input tokens (counts against the request limit; not recorded: it generates nothing)",
          description: "Asked of Anthropic providers; for others counted by the gateway's tokenizer (an estimate).",
          security,
          requestBody: messageRequest,
        },
        response: { 200: t.Object({ input_tokens: t.Integer() }), ...anthropicErrors(400, 401, 403, 404, 429, 502) },
      },
    );
}
