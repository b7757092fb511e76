// What every inbound API's proxy shares: its dependencies, the call it serves, and reading its JSON body.
import type { Server } from "bun";
import type { Admission } from "../admission/admit.ts";
import type { StorageHealth } from "../usage/health.ts";
import { ApiError, invalidRequest } from "../errors.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import { elapsedMs, reportOf, type RequestReport } from "../observe/report.ts";
import type { Prices } from "../usage/pricing.ts";
import type { UsageRecorder } from "../usage/record.ts";
import { hasHiddenCharacters } from "../text.ts";
import type { Router } from "../routing/router.ts";

import type { ResponseCache } from "../cache/store.ts";

export interface ProxyDeps {
  route: Router;
  prices: Prices;
  recorder: UsageRecorder;
  health: StorageHealth;
  admission: Admission;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** An upstream answer (not a stream) larger than this is dropped with a 502. */
  maxUpstreamBytes: number;
  /** A model's largest answer (the price list's, else the default): for APIs that require a limit. */
  maxOutputTokens: (model: string) => number;
  outputLimit: (model: string) => number | undefined;
  /** Web searches a request of a limited key may make when it sets no cap (max_tool_calls, max_uses). */
  defaultMaxToolCalls: number;
  /** The response cache, when the server has one (SQLite's table, or Redis shared by several instances). */
  cache?: ResponseCache;
  clock?: () => number;
  log?: (line: string) => void;
}

/** One authenticated customer request, as the routes hand it to a proxy. */
export interface ProxyCall {
  requestId: string;
  key: VerifiedKey;
  /** Response headers being collected (request id, limits); successful answers are built with them. */
  headers: Record<string, unknown>;
  /** Lifts the connection's idle timeout once the body is in: the upstream timeout governs from then on. */
  holdOpen?: () => void;
  /** What the request did, for the access log and metrics. */
  report?: RequestReport;
}

/** The call a proxy serves, from an Elysia route's context (the request id was set by the app's onRequest). */
export function callOf(request: Request, headers: Record<string, unknown>, key: VerifiedKey, server?: Server<unknown> | null): ProxyCall {
  return { requestId: headers["x-request-id"] as string, key, headers, holdOpen: server ? () => server.timeout(request, 0) : undefined, report: reportOf(request) };
}

/** The relay's activity callback, noting first when the stream's first bytes came through. */
export function firstByte(report: RequestReport, activity: () => void): () => void {
  return () => {
    report.firstByteMs ??= elapsedMs(report);
    activity();
  };
}

/** The request body as a JSON object, or the 400 `invalid_json` that says what is wrong with it. */
export function parseJsonObject(text: string): Record<string, unknown> {
  const invalid = (message: string) => new ApiError(400, message, "invalid_request_error", "invalid_json");
  if (text.trim() === "") throw invalid("The request body is empty; expected a JSON object.");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("The request body is not valid JSON.");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw invalid("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

/**
 * The model a request names, or the operator's default where an API takes one (`defaultModel` given,
 * possibly undefined): a visible name of at most 256 characters.
 */
export function requireModel(value: unknown, defaultable: { defaultModel: string | undefined } | null): string {
  const model = value === undefined ? defaultable?.defaultModel : value;
  if (model === undefined) {
    const hint = defaultable ? " This gateway has no default model (its operator can set GATEWAY_DEFAULT_MODEL or default_model in the config file)." : "";
    throw invalidRequest(`Missing required parameter: 'model'.${hint}`, "model", "missing_required_parameter");
  }
  if (typeof model !== "string" || model.trim() === "") throw invalidRequest("Invalid type for 'model': expected a non-empty string.", "model", "invalid_type");
  if (model.length > 256) throw invalidRequest("'model' is too long (at most 256 characters).", "model", "invalid_value");
  if (hasHiddenCharacters(model)) throw invalidRequest("'model' must not contain control or invisible formatting characters.", "model", "invalid_value");
  return model;
}

/** `stream`, when given, must be a boolean. */
export function readStreamFlag(value: unknown): boolean {
  if (value !== undefined && value !== null && typeof value !== "boolean") throw invalidRequest("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type");
  return value === true;
}
