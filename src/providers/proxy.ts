// What every inbound API's proxy shares: its dependencies, the call it serves, and reading its JSON body.
import type { Admission } from "../admission/admit.ts";
import type { StorageHealth } from "../db/storage-health.ts";
import { ApiError } from "../errors.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import type { PriceTable } from "../usage/pricing.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { Router } from "./router.ts";

export interface ProxyDeps {
  route: Router;
  prices: PriceTable;
  recorder: UsageRecorder;
  health: StorageHealth;
  admission: Admission;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  upstreamTimeoutMs: number;
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
