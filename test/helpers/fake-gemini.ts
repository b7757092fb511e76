// A real HTTP server speaking Google's Gemini API on port 0: generateContent, streamGenerateContent (SSE
// with alt=sse) and batchEmbedContents under /v1beta/models/{model}:{method}. It checks what Google
// checks: the x-goog-api-key header (a wrong key is 400 API_KEY_INVALID, as Google answers), the path,
// and the request's shape (unknown fields, roles, empty parts are 400 INVALID_ARGUMENT).
import type { Server } from "bun";
import { PROVIDER_KEY } from "./gateway.ts";
import { receive, sseResponse, type ReceivedRequest } from "./fake-upstream.ts";

/** What every answer reports: 40 prompt tokens (10 of them cached), 12 answer tokens and 8 thinking tokens. */
export const GEMINI_USAGE = { promptTokenCount: 40, candidatesTokenCount: 12, thoughtsTokenCount: 8, cachedContentTokenCount: 10, totalTokenCount: 60 };
export const GEMINI_TEXT = ["Hello", " from", " Gemini", " ✓"];
export const GEMINI_CALL = { name: "get_weather", args: { city: "Paris" } };
/** A prompt with this in it is blocked by the safety filter (finishReason SAFETY). */
export const GEMINI_BLOCKED = "make it unsafe";

export interface FakeGemini {
  url: string;
  received: ReceivedRequest[];
  stop(): Promise<void>;
}

const REQUEST_FIELDS = new Set(["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent"]);
const CONFIG_FIELDS = new Set(["maxOutputTokens", "temperature", "topP", "topK", "stopSequences", "seed", "presencePenalty", "frequencyPenalty", "responseMimeType", "responseJsonSchema", "responseSchema", "candidateCount", "thinkingConfig"]);

const invalid = (message: string, reason?: string) =>
  Response.json({ error: { code: 400, message, status: "INVALID_ARGUMENT", ...(reason ? { details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "googleapis.com" }] } : {}) } }, { status: 400 });

/** What Google refuses in a generateContent request (a subset of its checks, the ones translation can break). */
function problem(body: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(body)) if (!REQUEST_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`;
  const contents = body.contents as { role?: string; parts?: Record<string, unknown>[] }[] | undefined;
  if (!Array.isArray(contents) || contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  for (const c of contents) {
    if (c.role !== "user" && c.role !== "model") return `Please use a valid role: user, model.`;
    if (!Array.isArray(c.parts) || c.parts.length === 0) return "* GenerateContentRequest.contents.parts: contents.parts must not be empty.";
    for (const p of c.parts) if (Object.keys(p).length !== 1) return "Invalid value at 'contents.parts' (oneof data): only one field may be set";
  }
  const config = (body.generationConfig ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(config)) if (!CONFIG_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`;
  return undefined;
}

function wantsCall(body: Record<string, unknown>): boolean {
  const tools = body.tools as { functionDeclarations?: unknown[] }[] | undefined;
  const contents = body.contents as { parts: Record<string, unknown>[] }[];
  const answered = contents.at(-1)!.parts.some((p) => p.functionResponse !== undefined);
  return !!tools?.some((t) => (t.functionDeclarations?.length ?? 0) > 0) && !answered;
}

function blocked(body: Record<string, unknown>): boolean {
  return JSON.stringify(body.contents).includes(GEMINI_BLOCKED);
}

function answer(body: Record<string, unknown>, model: string) {
  const parts: Record<string, unknown>[] = [{ text: "thinking...", thought: true }, { text: GEMINI_TEXT.join("") }];
  if (wantsCall(body)) parts.push({ functionCall: GEMINI_CALL });
  return {
    candidates: [{ content: { role: "model", parts }, finishReason: blocked(body) ? "SAFETY" : "STOP", index: 0 }],
    usageMetadata: GEMINI_USAGE,
    modelVersion: `${model}-001`,
    responseId: "gemini-resp-1",
  };
}

function streamChunks(body: Record<string, unknown>, model: string): Record<string, unknown>[] {
  const base = { modelVersion: `${model}-001`, responseId: "gemini-resp-2" };
  const partial = { promptTokenCount: GEMINI_USAGE.promptTokenCount, totalTokenCount: GEMINI_USAGE.promptTokenCount };
  const chunks: Record<string, unknown>[] = GEMINI_TEXT.map((text, i) => ({ ...base, candidates: [{ content: { role: "model", parts: i === 0 ? [{ text: "hmm", thought: true }, { text }] : [{ text }] }, index: 0 }], usageMetadata: partial }));
  const last = chunks.at(-1)!;
  const parts = (last.candidates as { content: { parts: unknown[] } }[])[0]!.content.parts;
  if (wantsCall(body)) parts.push({ functionCall: GEMINI_CALL });
  (last.candidates as Record<string, unknown>[])[0]!.finishReason = blocked(body) ? "SAFETY" : "STOP";
  last.usageMetadata = GEMINI_USAGE;
  return chunks;
}

export function startFakeGemini(): FakeGemini {
  const received: ReceivedRequest[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const { url, json: body } = await receive(req, received, true);
      if (!body) return invalid("Invalid JSON payload received.");
      if (req.headers.get("x-goog-api-key") !== PROVIDER_KEY) return invalid("API key not valid. Please pass a valid API key.", "API_KEY_INVALID");
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return Response.json({ error: { code: 404, message: `Not found: ${url.pathname}`, status: "NOT_FOUND" } }, { status: 404 });
      const [, model, method] = m as unknown as [string, string, string];
      if (model.startsWith("missing")) return Response.json({ error: { code: 404, message: `models/${model} is not found for API version v1beta`, status: "NOT_FOUND" } }, { status: 404 });
      if (method === "batchEmbedContents") {
        const requests = body.requests as { model: string; content: { parts: { text: string }[] } }[];
        if (!Array.isArray(requests) || requests.some((r) => r.model !== `models/${model}`)) return invalid("* BatchEmbedContentsRequest.requests: model must match the request's model");
        return Response.json({ embeddings: requests.map((r) => ({ values: [r.content.parts[0]!.text.length / 10, 0.5, -0.25] })) });
      }
      const wrong = problem(body);
      if (wrong) return invalid(wrong);
      if (method === "generateContent") return Response.json(answer(body, model));
      if (url.searchParams.get("alt") !== "sse") return invalid("streamGenerateContent without alt=sse answers a JSON array; this fake speaks SSE only");
      // Google separates its events with CRLF.
      return sseResponse(streamChunks(body, model).map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`));
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1beta`, received, stop: async () => void (await server.stop(true)) };
}
