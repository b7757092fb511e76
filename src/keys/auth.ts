import { ApiError } from "../errors.ts";
import { rateLimitHeaders, type LimitDecision, type Take } from "../limits/fixed-window.ts";
import { reportOf, type RequestReport } from "../observe/report.ts";
import type { KeyVerifier, VerifiedKey, VerifyResult } from "./verifier.ts";

const BEARER = /^Bearer +([\x21-\x7e]{1,256})$/i;

function invalidKey(message: string): ApiError {
  return new ApiError(401, message, "invalid_request_error", "invalid_api_key");
}

const API_KEY = /^[\x21-\x7e]{1,256}$/;

/**
 * Resolves the `Authorization: Bearer <key>` header (or, as Anthropic's SDKs send it, `x-api-key`) to an
 * active key, or throws the 401/403.
 */
export async function authenticate(verify: KeyVerifier, authorization: string | null, apiKey: string | null = null, report?: RequestReport): Promise<VerifiedKey> {
  const pending = checkHeader(verify, authorization, apiKey);
  const result = pending instanceof Promise ? await pending : pending;
  if (report) {
    const known = result.ok ? result.key : "id" in result ? result : undefined;
    report.keyId = known?.id;
    report.keyName = known?.name;
  }
  return toKey(result);
}

function checkHeader(verify: KeyVerifier, authorization: string | null, apiKey: string | null): ReturnType<KeyVerifier> {
  if (!authorization && apiKey) {
    if (!API_KEY.test(apiKey.trim())) throw invalidKey("Malformed x-api-key header.");
    return verify(apiKey.trim());
  }
  if (!authorization) {
    throw invalidKey("You didn't provide an API key. Send it in the Authorization header: 'Authorization: Bearer YOUR_KEY' (or as x-api-key).");
  }
  const match = BEARER.exec(authorization.trim());
  if (!match) throw invalidKey("Malformed Authorization header; expected 'Authorization: Bearer YOUR_KEY'.");
  return verify(match[1]!);
}

/** The refusal reasons of authentication, for metrics: invalid_api_key, api_key_disabled, api_key_expired are their own. */
function toKey(result: VerifyResult): VerifiedKey {
  if (result.ok) return result.key;
  if (result.reason === "disabled") {
    throw new ApiError(403, "This API key has been disabled. Contact the gateway operator.", "invalid_request_error", "api_key_disabled");
  }
  if (result.reason === "expired") throw new ApiError(401, "This API key has expired. Contact the gateway operator.", "invalid_request_error", "api_key_expired");
  if (result.reason === "customer_disabled") {
    throw new ApiError(403, "This API key's customer account has been disabled. Contact the gateway operator.", "invalid_request_error", "customer_disabled");
  }
  throw invalidKey("Incorrect API key provided.");
}

/**
 * The customer gate for /v1/*: authenticates the bearer key, applies its per-minute limit, and sets the
 * x-ratelimit-* headers on whatever response follows (success or error). Only inference counts against
 * the limit: `counted: false` (models, usage) authenticates and reports the window without using it.
 */
export function createCustomerGate(
  verify: KeyVerifier,
  // The key's other limits too: a request thread of serve --workers learns where they stand in the same call.
  limiter: (id: string, limit: number, count: Take, limits?: VerifiedKey["limits"]) => LimitDecision | Promise<LimitDecision>,
  limitHeaders?: (key: VerifiedKey, headers: Record<string, unknown>) => void,
) {
  return async function gate(request: Request, headers: Record<string, unknown>, { counted = true }: { counted?: boolean } = {}): Promise<VerifiedKey> {
    const report = reportOf(request);
    const key = await authenticate(verify, request.headers.get("authorization"), request.headers.get("x-api-key"), report);
    if (key.allowedIps && !key.allowedIps.allows(report?.client)) {
      const err = new ApiError(403, `This API key may not be used from this address (${report?.client ?? "unknown"}). Contact the gateway operator.`, "invalid_request_error", "ip_not_allowed");
      err.reason = "ip";
      throw err;
    }
    const pending = limiter(key.id, key.rateLimitPerMinute, counted, key.limits);
    const decision = pending instanceof Promise ? await pending : pending;
    Object.assign(headers, rateLimitHeaders(decision));
    limitHeaders?.(key, headers);
    const customerRpm = key.customer?.rateLimitPerMinute;
    if (decision.allowed && counted && customerRpm != null) {
      // The customer's limit counts every key of it; a request it refuses gives its key's slot back.
      const shared = await limiter(`c:${key.customer!.id}`, customerRpm, true);
      if (!shared.allowed) {
        await limiter(key.id, key.rateLimitPerMinute, "refund");
        Object.assign(headers, rateLimitHeaders(shared));
        const err = new ApiError(
          429,
          `Rate limit reached for this API key's customer: ${customerRpm} requests per minute across its keys. Retry after the window resets.`,
          "requests",
          "rate_limit_exceeded",
          null,
          { "retry-after": String(Math.max(1, Math.ceil(shared.resetMs / 1000))) },
        );
        err.reason = "customer_rate";
        throw err;
      }
    }
    if (!decision.allowed) {
      const err = new ApiError(
        429,
        `Rate limit reached for this API key: ${decision.limit} requests per minute. Retry after the window resets.`,
        "requests",
        "rate_limit_exceeded",
        null,
        { "retry-after": String(Math.max(1, Math.ceil(decision.resetMs / 1000))) },
      );
      err.reason = "rate";
      throw err;
    }
    return key;
  };
}

export type CustomerGate = ReturnType<typeof createCustomerGate>;
