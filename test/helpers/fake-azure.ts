// A real HTTP server speaking Azure OpenAI on port 0, at a resource endpoint: deployment-scoped chat and
// embeddings (/openai/deployments/{deployment}/...?api-version=...), the Responses API at
// /openai/responses?api-version=..., and the /openai/v1/... form (the deployment in the body's model).
// It checks what Azure checks: the api-key header, the path, the api-version, that the deployment
// exists; it answers with the model's name (not the deployment's), the content-filter fields Azure adds
// (including the first stream chunk with no choices), and Azure's content-filter refusal.
import type { Server } from "bun";
import { PROVIDER_KEY } from "./gateway.ts";
import { completion, receive, responseObject, sseResponse, streamEvents, type ReceivedRequest } from "./fake-upstream.ts";

export const AZURE_API_VERSION = "2024-10-21";
/** Deployment name → the model deployed. */
export const AZURE_DEPLOYMENTS: Record<string, string> = { "my-4o": "gpt-4o", "embed-small": "text-embedding-3-small", "mini-dep": "gpt-4o-mini" };
/** A prompt with this in it is refused by Azure's content filter. */
export const FILTERED = "trip the filter";

export interface FakeAzure {
  url: string;
  received: ReceivedRequest[];
  stop(): Promise<void>;
}

const azureError = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => Response.json({ error: { code, message, ...extra } }, { status });
const FILTER_RESULTS = { hate: { filtered: false, severity: "safe" }, self_harm: { filtered: false, severity: "safe" }, sexual: { filtered: false, severity: "safe" }, violence: { filtered: false, severity: "safe" } };

function answer(route: "chat/completions" | "embeddings" | "responses", body: Record<string, unknown>, model: string): Response {
  const asModel = { ...body, model };
  if (route === "embeddings") {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return Response.json({ object: "list", data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.25, -0.5, 0.125] })), model, usage: { prompt_tokens: 8 * inputs.length, total_tokens: 8 * inputs.length } });
  }
  if (route === "responses") return Response.json(responseObject(asModel, `resp_azure${Date.now()}`));
  if (JSON.stringify(body.messages ?? "").includes(FILTERED)) {
    return azureError(400, "content_filter", "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.", {
      param: "prompt",
      status: 400,
      innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { ...FILTER_RESULTS, violence: { filtered: true, severity: "high" } } },
    });
  }
  if (body.stream !== true) {
    const done = completion(asModel);
    return Response.json({ ...done, choices: done.choices.map((c) => ({ ...c, content_filter_results: FILTER_RESULTS })), prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }] });
  }
  const first = `data: ${JSON.stringify({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }] })}\n\n`;
  return sseResponse([first, ...streamEvents(asModel)]);
}

export function startFakeAzure(): FakeAzure {
  const received: ReceivedRequest[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const { url, json } = await receive(req, received, true);
      const body = json ?? {};
      if (req.headers.get("api-key") !== PROVIDER_KEY) return azureError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
      const version = url.searchParams.get("api-version");
      const scoped = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
      const v1 = /^\/openai\/v1\/(chat\/completions|embeddings|responses)$/.exec(url.pathname);
      const responses = url.pathname === "/openai/responses";
      if (!scoped && !v1 && !responses) return azureError(404, "404", "Resource not found");
      if ((scoped || responses) && version !== AZURE_API_VERSION) return azureError(404, "404", "Resource not found");
      const deployment = scoped ? decodeURIComponent(scoped[1]!) : String(body.model);
      const model = AZURE_DEPLOYMENTS[deployment];
      if (!model) return azureError(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.");
      const route = (scoped?.[2] ?? v1?.[1] ?? "responses") as "chat/completions" | "embeddings" | "responses";
      return answer(route, body, model);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, received, stop: async () => void (await server.stop(true)) };
}
