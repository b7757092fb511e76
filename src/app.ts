import { Elysia, t } from "elysia";
import { docsPlugin } from "./docs/plugin.ts";
import { ApiError, errorResponse, UserError } from "./errors.ts";
import type { AdminGuard } from "./keys/admin-auth.ts";
import type { CustomerGate } from "./keys/auth.ts";
import { adminKeyRoutes } from "./keys/routes.ts";
import type { KeyService } from "./keys/service.ts";
import type { ChatProxy } from "./providers/chat-proxy.ts";
import type { ModelCatalog } from "./providers/models.ts";
import { chatRoutes } from "./providers/routes.ts";
import { isBusy, type Db } from "./db/client.ts";
import type { StorageHealth } from "./db/storage-health.ts";
import { ADMIN_BODY_LIMIT, bodyTooLarge } from "./http/body.ts";
import { usageRoutes } from "./usage/routes.ts";

export interface AppDeps {
  version: string;
  db: Db;
  keys: KeyService;
  admit: CustomerGate;
  requireAdmin: AdminGuard;
  chat: ChatProxy;
  models: ModelCatalog;
  /** GATEWAY_ADMIN_TOKEN is set: /admin/* exists (and is documented). */
  adminEnabled: boolean;
  health: StorageHealth;
  /** Customer bodies: larger declared sizes get 413 before a byte of the body is read. */
  maxBodyBytes: number;
  busyTimeoutMs: number;
  log?: (line: string) => void;
}


const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The root Elysia instance: request ids, one error mapper, and the feature routes. */
export function createApp(deps: AppDeps) {
  const log = deps.log ?? console.error;
  return new Elysia({ serve: { reusePort: false, development: false } })
    .onRequest(({ request, set, server }) => {
      const given = request.headers.get("x-request-id");
      set.headers["x-request-id"] = given && REQUEST_ID.test(given) ? given : `req_${crypto.randomUUID().replace(/-/g, "")}`;
      // Before routing and before any body is read: admin authentication, then the declared size.
      const admin = pathOf(request.url).startsWith("/admin");
      if (admin) {
        try {
          deps.requireAdmin(request, server?.requestIP(request)?.address);
        } catch (err) {
          // Close rather than drain whatever body an unauthenticated client is still sending.
          if (err instanceof ApiError && request.body) err.headers.connection = "close";
          throw err;
        }
        // A body without a declared length could only be measured by reading it.
        if (request.headers.has("transfer-encoding")) throw new ApiError(411, "Admin requests need a Content-Length header.", "invalid_request_error", "length_required", null, { connection: "close" });
      }
      const limit = admin ? ADMIN_BODY_LIMIT : deps.maxBodyBytes;
      if (Number(request.headers.get("content-length") ?? 0) > limit) throw bodyTooLarge(limit);
    })
    .onError({ as: "global" }, ({ error, code }) => {
      if (code === "NOT_FOUND") return errorResponse(new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url"));
      if (code === "PARSE") return errorResponse(new ApiError(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json"));
      if (code === "VALIDATION") return errorResponse(validationError(error));
      // Another process holds a lock the event loop will not wait for (reads almost never meet one).
      if (isBusy(error)) return errorResponse(new ApiError(503, "The database is busy; retry shortly.", "server_error", "database_busy", null, { "retry-after": "1" }));
      // JSON nested deeper than the parser's stack: the client's mistake, not ours.
      if (error instanceof RangeError) return errorResponse(new ApiError(400, "The request body is nested too deeply.", "invalid_request_error", "invalid_json"));
      if (!(error instanceof ApiError) && !(error instanceof UserError)) log(`[gateway] internal error: ${(error as Error)?.stack ?? String(error)}`);
      return errorResponse(error);
    })
    .use(docsPlugin(deps.version, { admin: deps.adminEnabled }))
    .get(
      "/health",
      ({ set }) => {
        const state = deps.health.state();
        if (state.ok) return { status: "ok" as const, version: deps.version };
        set.status = 503;
        return { status: "unavailable" as const, reason: state.reason, version: deps.version };
      },
      {
        response: {
          200: t.Object({ status: t.Literal("ok"), version: t.String() }),
          503: t.Object({ status: t.Literal("unavailable"), reason: t.String({ examples: ["database file ./gateway.db was deleted"] }), version: t.String() }),
        },
        detail: { tags: ["Operations"], summary: "Health: 503 with the reason while usage cannot be recorded" },
      },
    )
    .use(chatRoutes({ admit: deps.admit, chat: deps.chat, models: deps.models }))
    .use(usageRoutes({ db: deps.db, admit: deps.admit }))
    .use(adminKeyRoutes({ keys: deps.keys, busyTimeoutMs: deps.busyTimeoutMs }));
}

/** The path of a request URL (with its query), without parsing the whole URL on the hot path. */
function pathOf(url: string): string {
  return url.slice(url.indexOf("/", url.indexOf("//") + 2));
}

interface SchemaShape {
  type?: string;
  format?: string;
  const?: unknown;
  anyOf?: SchemaShape[];
  minimum?: number;
  maximum?: number;
}

interface SchemaIssue {
  path?: string;
  message?: string;
  value?: unknown;
  schema?: SchemaShape;
}

/** "expected one of key, model, day" / "expected integer >= 1" from the failing schema. */
function describeExpected(schema: SchemaShape | undefined, fallback: string): string {
  if (!schema) return fallback;
  const variants = schema.anyOf ?? [schema];
  if (variants.every((v) => v.const !== undefined)) return `expected one of ${variants.map((v) => String(v.const)).join(", ")}`;
  // Elysia turns numbers in queries/bodies into "numeric string | number": name the type once.
  const types = [...new Set(variants.map((v) => (v.format === "integer" || v.format === "numeric" ? (v.format === "integer" ? "integer" : "number") : v.type)))];
  if (!types[0]) return fallback;
  const bounds = `${schema.minimum !== undefined ? ` >= ${schema.minimum}` : ""}${schema.maximum !== undefined ? ` <= ${schema.maximum}` : ""}`;
  return `expected ${types.join(" or ")}${bounds}`;
}

/** Elysia's validation error as a 400 naming the field, e.g. param "rate_limit_per_minute". */
function validationError(error: unknown): ApiError {
  const first = (error as { all?: SchemaIssue[] }).all?.[0];
  const param = first?.path ? first.path.replace(/^\//, "").replace(/\//g, ".") : null;
  const field = param ? `'${param}'` : "request";
  const expected = describeExpected(first?.schema, first?.message ?? "invalid");
  const message = first && first.value === undefined && param ? `Missing required parameter: ${field}.` : `Invalid ${field}: ${expected}.`;
  return new ApiError(400, message, "invalid_request_error", first?.value === undefined ? "missing_required_parameter" : "invalid_type", param);
}
