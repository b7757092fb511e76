// What an OpenAI-compatible upstream's answer means for the customer, shared by every inbound API:
// believable usage, failed fetches, and error answers (never the provider key, never its 401 as ours).
import { ApiError, shapedErrorBody, type ErrorShape } from "../errors.ts";
import type { ReportedUsage } from "../usage/reported.ts";
import type { Route } from "./router.ts";
import { redactSecret } from "./redact.ts";
import { UPSTREAM_TYPES } from "../upstreams/index.ts";

const MAX_ERROR_BODY = 64 * 1024;

/** Why the upstream fetch failed, from the customer's point of view. */
export type FetchFailure = "timeout" | "client_gone" | "unreachable" | "broken";

/** Upstream usage beyond 10^9 tokens in one request is not believed: it is estimated instead, and logged. */
const MAX_PLAUSIBLE_TOKENS = 1_000_000_000;

export function plausible(reported: ReportedUsage | undefined, requestId: string, log: (line: string) => void): ReportedUsage | undefined {
  if (!reported) return undefined;
  const counts = [reported.promptTokens, reported.completionTokens, reported.cachedTokens ?? 0, reported.reasoningTokens ?? 0];
  if (reported.suspect === undefined && counts.every((n) => n <= MAX_PLAUSIBLE_TOKENS)) return reported;
  log(`[gateway] request ${requestId}: the upstream reported implausible usage (${reported.suspect ?? counts.join("/")}); recorded as estimated`);
  return undefined;
}

export function classify(err: unknown, timedOut: boolean, clientGone: boolean): FetchFailure {
  if (timedOut) return "timeout";
  if (clientGone) return "client_gone";
  const code = (err as { code?: string } | null)?.code ?? "";
  if (/ConnectionRefused|ECONNREFUSED|ENOTFOUND|FailedToOpenSocket|EHOSTUNREACH|ENETUNREACH/.test(code)) return "unreachable";
  return "broken";
}

export function fetchError(failure: FetchFailure, route: Route, timeoutMs: number, log: (l: string) => void, err: unknown): ApiError {
  const name = route.provider.name;
  if (failure === "timeout") return new ApiError(504, `The upstream provider '${name}' did not answer within ${timeoutMs} ms.`, "upstream_error", "upstream_timeout");
  if (failure === "client_gone") return new ApiError(499, "The client closed the request.", "invalid_request_error", "client_closed_request");
  const cause = (err as { code?: string } | null)?.code ?? (err as Error)?.message ?? "unknown";
  log(`[gateway] provider '${name}' ${failure === "unreachable" ? "unreachable" : "connection failed"}: ${cause}`);
  return new ApiError(502, `The upstream provider '${name}' could not be reached.`, "upstream_error", "upstream_unavailable");
}

/**
 * Upstream 4xx/5xx: its status, its error body (re-shaped when the customer's API has another shape
 * than the upstream's), its Retry-After. A 401/403 is about the operator's provider key, not the
 * customer's: it becomes a 502 and is logged, and the provider key is never echoed back in any error body.
 */
export async function upstreamError(
  res: Response,
  text: string,
  route: Route,
  record: (status: number, u: ReportedUsage, model: null, t: null) => Promise<unknown>,
  log: (line: string) => void,
  shape: ErrorShape = "openai",
): Promise<Response> {
  await record(res.status, { promptTokens: 0, completionTokens: 0, cachedTokens: null, reasoningTokens: null }, null, null);
  const name = route.provider.name;
  const type = UPSTREAM_TYPES[route.provider.type];
  if (res.status === 401 || res.status === 403 || type.refusesCredentials?.(res.status, text)) {
    log(`[gateway] provider '${name}' refused the gateway's provider key (HTTP ${res.status}); check its API key`);
    return Response.json(shapedErrorBody(shape, 502, `The upstream provider '${name}' refused the gateway's credentials. Contact the gateway operator.`, "upstream_error", "upstream_auth_failed"), { status: 502 });
  }
  // An error body is a message: beyond 64 KB it is cut (and then only summarised below), so redaction stays cheap.
  if (text.length > MAX_ERROR_BODY) text = text.slice(0, MAX_ERROR_BODY);
  text = redactSecret(text, route.provider.apiKey);
  const headers: Record<string, string> = { "content-type": "application/json" };
  const retryAfter = res.headers.get("retry-after");
  if (retryAfter) headers["retry-after"] = retryAfter;
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {}
  const error = payload && typeof payload === "object" ? (type.errorMessage ?? errorMessage)(payload as Record<string, unknown>) : undefined;
  if (error) {
    if (type.errorShape === shape) return new Response(text, { status: res.status, headers });
    const body = shapedErrorBody(shape, res.status, error.message, error.type ?? "upstream_error", `upstream_${res.status}`);
    return new Response(JSON.stringify(body), { status: res.status, headers });
  }
  const snippet = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
  const body = shapedErrorBody(shape, res.status, `The upstream provider '${name}' returned HTTP ${res.status}${snippet ? `: ${snippet}` : "."}`, "upstream_error", `upstream_${res.status}`);
  return new Response(JSON.stringify(body), { status: res.status, headers });
}

/** The message of an OpenAI- or Anthropic-shaped error body (Azure's and Gemini's have the same `error.message`). */
function errorMessage(payload: Record<string, unknown>): { message: string; type?: string } | undefined {
  const error = payload.error as { message?: unknown; type?: unknown; status?: unknown } | null | undefined;
  if (!error || typeof error !== "object" || typeof error.message !== "string") return undefined;
  const type = typeof error.type === "string" ? error.type : typeof error.status === "string" ? error.status : undefined;
  return { message: error.message, ...(type ? { type } : {}) };
}

/** The upstream answered 2xx with something that is not the JSON object the API promises. */
export function badUpstreamResponse(route: Route): ApiError {
  return new ApiError(502, `The upstream provider '${route.provider.name}' returned an invalid response.`, "upstream_error", "bad_upstream_response");
}

/** The upstream's answer was larger than GATEWAY_MAX_UPSTREAM_BYTES. */
export class UpstreamTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`upstream answer over ${limit} bytes`);
  }
}

/** An upstream answer as text, refusing more than `limit` bytes (declared or as they arrive) without holding them. */
export async function readUpstreamText(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new UpstreamTooLarge(limit);
  // A declared length is all the body there is (the common case: read natively, in one piece).
  if (Number.isFinite(declared) || !res.body) return res.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > limit) throw new UpstreamTooLarge(limit);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** 502 for an answer over the limit: nothing of it reaches the customer. */
export function upstreamTooLarge(route: Route, limit: number, log: (l: string) => void): ApiError {
  log(`[gateway] provider '${route.provider.name}' answered more than ${limit} bytes (GATEWAY_MAX_UPSTREAM_BYTES); the answer was dropped`);
  return new ApiError(502, `The upstream provider '${route.provider.name}' answered more than ${limit} bytes.`, "upstream_error", "upstream_response_too_large");
}
