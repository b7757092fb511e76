import type { Server } from "bun";
import { Elysia, t } from "elysia";
import { beginRequest, checkBeforeBody, mapError, requestId, type BeforeBodyOptions, type ObserveOptions } from "../http/edge.ts";
import { endReport, type RequestReport } from "../observe/report.ts";
import type { CustomerGate } from "../keys/auth.ts";
import { callOf } from "./request.ts";
import { AnthropicModelSchema, ChatCompletionSchema, EmbeddingListSchema, errors, ModelListSchema, ModelSchema, ResponseObjectSchema } from "../docs/schemas.ts";
import { ApiError } from "../errors.ts";
import type { ChatProxy } from "./chat/proxy.ts";
import type { EmbeddingsProxy } from "./embeddings/proxy.ts";
import type { ResponsesProxy } from "./responses/proxy.ts";
import { anthropicModel, findModel, type ModelCatalog } from "./models.ts";

export interface ChatRoutesOptions {
  gate: CustomerGate;
  chat: ChatProxy;
  embeddings: EmbeddingsProxy;
  responses: ResponsesProxy;
  models: ModelCatalog;
}

const chatRequestExample = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello in one word." }],
  stream: false,
};

export interface NativeChatRouteOptions {
  gate: CustomerGate;
  chat: ChatProxy;
  checks: BeforeBodyOptions;
  observe: ObserveOptions;
  log: (line: string) => void;
}

/**
 * POST /v1/chat/completions as a Bun native route: the same request id, header checks, gate, proxy and
 * error mapping as every Elysia route, without building an Elysia context for the busiest route.
 */
export function nativeChatRoute({ gate, chat, checks, observe, log }: NativeChatRouteOptions) {
  return async function chatRoute(request: Request, server: Server<unknown>): Promise<Response> {
    const id = requestId(request);
    const headers: Record<string, string> = { "x-request-id": id };
    const report: RequestReport = beginRequest(request, id, server, observe);
    let res: Response;
    try {
      checkBeforeBody(request, server, checks);
      const key = await gate(request, headers);
      res = await chat(request, { requestId: id, key, headers, holdOpen: () => server.timeout(request, 0), report });
    } catch (err) {
      res = mapError(err, log, "openai", report);
    }
    // Answers the proxy built already carry them; errors (and relayed upstream errors) get them here.
    if (!res.headers.has("x-request-id")) for (const name in headers) res.headers.set(name, headers[name]!);
    endReport(report, res.status);
    return res;
  };
}

/** The customer-facing OpenAI-compatible routes (chat completions is served natively; this one documents it). */
export function chatRoutes({ gate, chat, embeddings, responses, models }: ChatRoutesOptions) {
  return new Elysia({ name: "chat-routes" })
    .get(
      "/v1/models",
      async ({ request, set }) => {
        await gate(request, set.headers, { counted: false });
        return models();
      },
      {
        response: { 200: ModelListSchema, ...errors(401, 403, 429) },
        detail: { tags: ["Customer"], summary: "List the models the providers serve (does not count against the request limit)", security: [{ customerKey: [] }] },
      },
    )
    .get(
      // One path segment: SDKs encode a model id's slashes (meta-llama%2F...).
      "/v1/models/:model",
      async ({ request, set, params }) => {
        await gate(request, set.headers, { counted: false });
        const id = params.model;
        const found = findModel((await models()).data, id);
        if (!found) throw new ApiError(404, `The model '${id}' does not exist or is not served by this gateway.`, "invalid_request_error", "model_not_found", "model");
        // Anthropic's SDKs (they send anthropic-version) read Anthropic's model object.
        return request.headers.has("anthropic-version") ? anthropicModel(found) : found;
      },
      {
        params: t.Object({ model: t.String({ description: "Model id (URL-encoded)", examples: ["gpt-4o-mini"] }) }),
        response: { 200: t.Union([ModelSchema, AnthropicModelSchema]), ...errors(401, 403, 404) },
        detail: { tags: ["Customer"], summary: "One model the providers serve (does not count against the request limit)", security: [{ customerKey: [] }] },
      },
    )
    .post(
      "/v1/responses",
      async ({ request, set, server }) => {
        const key = await gate(request, set.headers);
        return responses.create(request, callOf(request, set.headers, key, server));
      },
      {
        parse: "none",
        detail: {
          tags: ["Customer"],
          summary: "Create a model response (OpenAI's Responses API), streaming or not",
          description: "Forwarded to the provider that routes `model`. With `stream: true` the answer is server-sent events ending with `response.completed` (held until the usage row is committed).",
          security: [{ customerKey: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { type: "object", additionalProperties: true, properties: { model: { type: "string" }, input: {}, stream: { type: "boolean" } } },
                example: { model: "gpt-4o-mini", input: "Say hello in one word." },
              },
            },
          },
        },
        response: { 200: ResponseObjectSchema, ...errors(400, 401, 403, 404, 413, 429, 502, 503, 504) },
      },
    )
    .get(
      "/v1/responses/:id",
      async ({ request, set, params }) => {
        const key = await gate(request, set.headers, { counted: false });
        return responses.stored("GET", params.id, callOf(request, set.headers, key));
      },
      {
        params: t.Object({ id: t.String({ examples: ["resp_123"] }) }),
        response: { 200: ResponseObjectSchema, ...errors(401, 403, 404, 502) },
        detail: { tags: ["Customer"], summary: "A response this key created, from the provider that served it", security: [{ customerKey: [] }] },
      },
    )
    .delete(
      "/v1/responses/:id",
      async ({ request, set, params }) => {
        const key = await gate(request, set.headers, { counted: false });
        return responses.stored("DELETE", params.id, callOf(request, set.headers, key));
      },
      {
        params: t.Object({ id: t.String({ examples: ["resp_123"] }) }),
        response: { 200: t.Object({}, { additionalProperties: true }), ...errors(401, 403, 404, 502) },
        detail: { tags: ["Customer"], summary: "Delete a response this key created, at the provider that served it", security: [{ customerKey: [] }] },
      },
    )
    .post(
      "/v1/embeddings",
      async ({ request, set, server }) => {
        const key = await gate(request, set.headers);
        return embeddings(request, callOf(request, set.headers, key, server));
      },
      {
        parse: "none",
        detail: {
          tags: ["Customer"],
          summary: "Create embeddings (OpenAI-compatible); usage is priced at the model's input price",
          security: [{ customerKey: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { type: "object", required: ["model", "input"], additionalProperties: true, properties: { model: { type: "string" }, input: {} } },
                example: { model: "text-embedding-3-small", input: "The food was delicious." },
              },
            },
          },
        },
        response: { 200: EmbeddingListSchema, ...errors(400, 401, 403, 404, 413, 429, 502, 503, 504) },
      },
    )
    .post(
      "/v1/chat/completions",
      async ({ request, set, server }) => {
        const key = await gate(request, set.headers);
        return chat(request, callOf(request, set.headers, key, server));
      },
      {
        // The body is read raw so it can be forwarded as sent; it is validated by the proxy.
        parse: "none",
        detail: {
          tags: ["Customer"],
          summary: "Create a chat completion (OpenAI-compatible, streaming or not)",
          description:
            "Forwarded to the provider that routes `model`, with the operator's provider key. With `stream: true` the answer is server-sent events ending in `data: [DONE]`. Every request that reaches the provider is recorded with its tokens and cost.",
          security: [{ customerKey: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["model", "messages"],
                  additionalProperties: true,
                  properties: {
                    model: { type: "string", example: "gpt-4o-mini" },
                    messages: {
                      type: "array",
                      minItems: 1,
                      items: { type: "object", required: ["role"], properties: { role: { type: "string" }, content: {} }, additionalProperties: true },
                    },
                    stream: { type: "boolean" },
                    stream_options: { type: "object", properties: { include_usage: { type: "boolean" } } },
                  },
                },
                example: chatRequestExample,
              },
            },
          },
        },
        response: { 200: ChatCompletionSchema, ...errors(400, 401, 403, 404, 408, 413, 429, 502, 503, 504) },
      },
    );
}
