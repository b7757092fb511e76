import { Elysia } from "elysia";
import { ApiError, errorResponse } from "./errors.ts";

export interface AppDeps {
  version: string;
}

/** The root Elysia instance: one error mapper, request ids, and the feature routes. */
export function createApp(deps: AppDeps) {
  return new Elysia({ serve: { idleTimeout: 0, reusePort: false, development: false } })
    .onError({ as: "global" }, ({ error, code, set }) => {
      if (code === "NOT_FOUND") {
        return errorResponse(new ApiError(404, "Unknown route.", "invalid_request_error", "not_found"));
      }
      if (code === "PARSE") {
        return errorResponse(new ApiError(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json"));
      }
      if (code === "VALIDATION") {
        return errorResponse(new ApiError(400, validationMessage(error), "invalid_request_error", "invalid_request"));
      }
      if (!(error instanceof ApiError)) console.error(`[gateway] internal error: ${(error as Error)?.message ?? String(error)}`);
      void set;
      return errorResponse(error);
    })
    .get("/health", () => ({ status: "ok", version: deps.version }));
}

export type App = ReturnType<typeof createApp>;

function validationMessage(error: unknown): string {
  const all = (error as { all?: { path?: string; message?: string }[] }).all;
  const first = all?.[0];
  if (first) return `Invalid value at '${first.path || "/"}': ${first.message}`;
  return "Invalid request.";
}
