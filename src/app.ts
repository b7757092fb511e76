import { Elysia } from "elysia";
import { ApiError, errorResponse } from "./errors.ts";
import { authenticate } from "./keys/auth.ts";
import type { KeyVerifier } from "./keys/verifier.ts";
import { rateLimitHeaders, type Limiter } from "./limits/fixed-window.ts";
import type { ChatProxy } from "./providers/chat-proxy.ts";
import { modelList } from "./providers/models.ts";
import type { ServerConfig } from "./config.ts";

export interface AppDeps {
  version: string;
  verifyKey: KeyVerifier;
  limiter: Limiter;
  chat: ChatProxy;
  config: Pick<ServerConfig, "providers" | "prices">;
  log?: (line: string) => void;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The root Elysia instance: request ids, one error mapper, and the routes. */
export function createApp(deps: AppDeps) {
  const log = deps.log ?? console.error;
  const models = modelList(deps.config.providers, deps.config.prices);

  /** Authenticates, applies the key's per-minute limit and sets the x-ratelimit-* headers. */
  async function admit(request: Request, headers: Record<string, unknown>) {
    const key = await authenticate(deps.verifyKey, request.headers.get("authorization"));
    const decision = deps.limiter(key.id, key.rateLimitPerMinute);
    Object.assign(headers, rateLimitHeaders(decision));
    if (!decision.allowed) {
      throw new ApiError(
        429,
        `Rate limit reached for this API key: ${decision.limit} requests per minute. Retry after the window resets.`,
        "requests",
        "rate_limit_exceeded",
        null,
        { "retry-after": String(Math.max(1, Math.ceil(decision.resetMs / 1000))) },
      );
    }
    return key;
  }

  return new Elysia({ serve: { idleTimeout: 0, reusePort: false, development: false } })
    .onRequest(({ request, set }) => {
      const given = request.headers.get("x-request-id");
      set.headers["x-request-id"] = given && REQUEST_ID.test(given) ? given : `req_${crypto.randomUUID().replace(/-/g, "")}`;
    })
    .onError({ as: "global" }, ({ error, code }) => {
      if (code === "NOT_FOUND") return errorResponse(new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url"));
      if (code === "PARSE") return errorResponse(new ApiError(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json"));
      if (code === "VALIDATION") return errorResponse(new ApiError(400, validationMessage(error), "invalid_request_error", "invalid_request"));
      if (!(error instanceof ApiError)) log(`[gateway] internal error: ${(error as Error)?.stack ?? String(error)}`);
      return errorResponse(error);
    })
    .get("/health", () => ({ status: "ok", version: deps.version }))
    .get("/v1/models", async ({ request, set }) => {
      await admit(request, set.headers);
      return models;
    })
    .post(
      "/v1/chat/completions",
      async ({ request, set }) => {
        const key = await admit(request, set.headers);
        return deps.chat(request, { requestId: set.headers["x-request-id"] as string, keyId: key.id });
      },
      { parse: "none" },
    );
}

export type App = ReturnType<typeof createApp>;

function validationMessage(error: unknown): string {
  const first = (error as { all?: { path?: string; message?: string }[] }).all?.[0];
  return first ? `Invalid value at '${first.path || "/"}': ${first.message}` : "Invalid request.";
}
