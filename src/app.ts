import { Elysia, t } from "elysia";
import { docsPlugin } from "./docs/plugin.ts";
import { ApiError } from "./errors.ts";
import type { AdminGuard } from "./keys/admin-auth.ts";
import type { CustomerGate } from "./keys/auth.ts";
import { adminKeyRoutes, adminWhoamiRoute } from "./keys/routes.ts";
import { claimRoutes } from "./keys/claim-routes.ts";
import type { KeyService } from "./keys/service.ts";
import type { CustomerService } from "./customers/service.ts";
import { adminCustomerRoutes } from "./customers/routes.ts";
import { adminAuditRoutes } from "./audit/routes.ts";
import type { AuditService } from "./audit/service.ts";
import type { ChatProxy } from "./surfaces/chat/proxy.ts";
import type { EmbeddingsProxy } from "./surfaces/embeddings/proxy.ts";
import type { ResponsesProxy } from "./surfaces/responses/proxy.ts";
import type { MessagesProxy } from "./surfaces/messages/proxy.ts";
import { messagesRoutes } from "./surfaces/messages/routes.ts";
import type { ModelCatalog } from "./surfaces/models.ts";
import { chatRoutes, nativeChatRoute } from "./surfaces/openai-routes.ts";
import type { Admission } from "./admission/admit.ts";
import { keyRoutes } from "./admission/routes.ts";
import type { OverviewQuery } from "./dashboard/overview.ts";
import type { UsageQueries } from "./usage/queries.ts";
import type { StorageHealth } from "./usage/health.ts";
import type { UsageRecorder } from "./usage/record.ts";
import { beginRequest, checkBeforeBody, errorShapeOf, mapError, requestId, type ObserveOptions } from "./http/edge.ts";
import { endReport, reportOf } from "./observe/report.ts";
import type { MetricsView } from "./observe/metrics.ts";
import { metricsRoutes } from "./observe/routes.ts";
import dashboardPage from "./dashboard/ui/index.html";
import { pageRoutes } from "./http/page-headers.ts";
import portalPage from "./portal/ui/index.html";
import { dashboardRoutes } from "./dashboard/routes.ts";
import { usageRoutes } from "./usage/routes.ts";

export interface AppDeps {
  version: string;
  usage: UsageQueries & OverviewQuery;
  keys: KeyService;
  customers: CustomerService;
  audit: AuditService;
  gate: CustomerGate;
  requireAdmin: AdminGuard;
  chat: ChatProxy;
  embeddings: EmbeddingsProxy;
  responses: ResponsesProxy;
  messages: MessagesProxy;
  models: ModelCatalog;
  /** GATEWAY_ADMIN_TOKEN is set: /admin/* exists (and is documented). */
  adminEnabled: boolean;
  health: StorageHealth;
  /** Rows waiting for the usage writer, for /health. */
  writer: Pick<UsageRecorder, "pending" | "oldestPendingMs">;
  admission: Admission;
  /** Customer bodies: larger declared sizes get 413 before a byte of the body is read. */
  maxBodyBytes: number;
  /** Retries a key write while the database is busy (see store/open.ts). */
  retryWrites: <T>(fn: () => T | Promise<T>) => Promise<T>;
  observe: ObserveOptions;
  metrics: MetricsView;
  /** serve --workers: every request thread listens on the port (SO_REUSEPORT). */
  reusePort?: boolean;
  metricsToken: string | undefined;
  clock?: () => number;
  log?: (line: string) => void;
}

const WRITER_STATE = t.Object(
  {
    pending_rows: t.Integer({ description: "Usage rows waiting to be committed (their answers wait with them)" }),
    oldest_pending_ms: t.Integer({ description: "How long the oldest of them has waited: seconds here mean a slow or hung disk (or database)" }),
  },
  { description: "The usage writer: answers end only once their row is committed" },
);

/** The root Elysia instance: request ids, one error mapper, and the feature routes. */
export function createApp(deps: AppDeps) {
  const log = deps.log ?? console.error;
  // The hot route is served by Bun's own router (no Elysia context per request); Elysia serves the rest.
  // The dashboard page and its bundled assets are served by Bun itself (an HTML import, bundled at build time).
  const hotRoutes = { "/v1/chat/completions": { POST: nativeChatRoute({ gate: deps.gate, chat: deps.chat, checks: deps, observe: deps.observe, log }) }, ...pageRoutes(dashboardPage, "/dashboard"), ...pageRoutes(portalPage, "/portal") };
  return new Elysia({ serve: { reusePort: deps.reusePort ?? false, development: false, routes: hotRoutes } })
    .onRequest(({ request, set, server }) => {
      const id = requestId(request);
      set.headers["x-request-id"] = id;
      beginRequest(request, id, server, deps.observe);
      checkBeforeBody(request, server, deps);
    })
    .onAfterHandle({ as: "global" }, ({ request, set, responseValue }) => {
      endReport(reportOf(request), responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200);
    })
    .onError({ as: "global" }, ({ error, code, request }) => {
      // Every error in the shape of the API the customer called.
      const shape = errorShapeOf(request.url);
      const err =
        code === "NOT_FOUND" ? unknownRoute(request)
        : code === "PARSE" ? new ApiError(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json")
        : code === "VALIDATION" ? validationError(error)
        : error;
      const report = reportOf(request);
      const res = mapError(err, log, shape, report);
      endReport(report, res.status);
      return res;
    })
    .use(docsPlugin(deps.version, { admin: deps.adminEnabled }))
    .get(
      "/health",
      ({ set }) => {
        const state = deps.health.state();
        const writer = { pending_rows: deps.writer.pending(), oldest_pending_ms: deps.writer.oldestPendingMs() };
        if (state.ok) return { status: "ok" as const, version: deps.version, writer };
        set.status = 503;
        return { status: "unavailable" as const, reason: state.reason, version: deps.version, writer };
      },
      {
        response: {
          200: t.Object({ status: t.Literal("ok"), version: t.String(), writer: WRITER_STATE }),
          503: t.Object({ status: t.Literal("unavailable"), reason: t.String({ examples: ["database file ./gateway.db was deleted"] }), version: t.String(), writer: WRITER_STATE }),
        },
        detail: { tags: ["Operations"], summary: "Health: 503 with the reason while usage cannot be recorded" },
      },
    )
    .use(chatRoutes({ gate: deps.gate, chat: deps.chat, embeddings: deps.embeddings, responses: deps.responses, models: deps.models }))
    .use(messagesRoutes({ gate: deps.gate, messages: deps.messages }))
    .use(metricsRoutes(deps.metrics, deps.metricsToken))
    .use(dashboardRoutes({ usage: deps.usage, metrics: deps.metrics, clock: deps.clock }))
    .use(usageRoutes({ usage: deps.usage, gate: deps.gate }))
    .use(keyRoutes({ gate: deps.gate, admission: deps.admission }))
    .use(adminKeyRoutes({ keys: deps.keys, retryWrites: deps.retryWrites }))
    .use(adminCustomerRoutes({ customers: deps.customers, retryWrites: deps.retryWrites }))
    .use(adminAuditRoutes({ audit: deps.audit }))
    .use(adminWhoamiRoute(deps.requireAdmin))
    .use(claimRoutes({ keys: deps.keys, retryWrites: deps.retryWrites }));
}

/** The customer routes, named in the 404 of an unknown /v1 path so a client sees what it can call. */
const CUSTOMER_ROUTES = [
  "GET /v1/models", "GET /v1/models/{model}", "POST /v1/chat/completions", "POST /v1/responses", "GET /v1/responses/{id}", "DELETE /v1/responses/{id}",
  "POST /v1/embeddings", "POST /v1/messages", "POST /v1/messages/count_tokens", "GET /v1/usage", "GET /v1/key",
];

function unknownRoute(request: Request): ApiError {
  const path = new URL(request.url).pathname.slice(0, 200);
  if (!path.startsWith("/v1/")) return new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url");
  return new ApiError(404, `Unknown route: ${request.method} ${path}. This gateway serves ${CUSTOMER_ROUTES.join(", ")}.`, "invalid_request_error", "unknown_url");
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
