// Azure OpenAI: OpenAI's APIs at a resource endpoint, authenticated with `api-key`. A model is reached
// through its deployment (`deployments` maps model names to deployment names; a model not listed is its
// own deployment): chat and embeddings at /openai/deployments/{deployment}/...?api-version=..., the
// Responses API at /openai/responses?api-version=...; with api_version = "v1", Azure's OpenAI-compatible
// /openai/v1/... paths. The deployment is also the body's model. Anthropic Messages are translated to chat.
import { chatBody, openai } from "./openai.ts";
import type { ProviderConfig } from "./provider-config.ts";
import type { Adapter, CallContext, UpstreamType } from "./types.ts";

const v1 = (provider: ProviderConfig) => provider.apiVersion === "v1";
const deploymentOf = (provider: ProviderConfig, model: string) => provider.deployments?.[model] ?? model;

/** The call with the deployment as its model. */
function deployed(ctx: CallContext): CallContext {
  const deployment = deploymentOf(ctx.provider, ctx.upstreamModel);
  return deployment === ctx.upstreamModel ? ctx : { ...ctx, upstreamModel: deployment, sameModel: false };
}

/** An OpenAI adapter at Azure: deployment-scoped path (unless v1 or `shared`), deployment as the model. */
function atDeployment(adapter: Adapter, shared = false): Adapter {
  const path = adapter.path as string;
  return {
    ...adapter,
    path: (provider, model) => (v1(provider) || shared ? path : `/deployments/${encodeURIComponent(deploymentOf(provider, model))}${path}`),
    body: (ctx) => adapter.body(deployed(ctx)),
  };
}

const { chat, responses, embeddings, messages } = openai.adapters as Required<typeof openai.adapters>;

export const azure: UpstreamType = {
  headers: (provider): Record<string, string> => (provider.apiKey ? { "api-key": provider.apiKey } : {}),
  errorShape: "openai",
  url: (provider, path) => (v1(provider) ? `${provider.baseUrl}/openai/v1${path}` : `${provider.baseUrl}/openai${path}${path.includes("?") ? "&" : "?"}api-version=${encodeURIComponent(provider.apiVersion ?? "")}`),
  adapters: {
    chat: atDeployment({ ...chat, body: chatBody }),
    responses: atDeployment(responses, true),
    embeddings: atDeployment(embeddings),
    messages: atDeployment(messages),
  },
};
