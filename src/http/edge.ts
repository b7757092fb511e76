// What every request meets before its route: its request id, the checks made from headers alone, and
// the one mapping of errors to OpenAI-shaped responses. Shared by the Elysia app and the native hot route.
import type { Server } from "bun";
import { ApiError, classifiedError, errorResponse, UserError, type ErrorShape } from "../errors.ts";
import type { AdminGuard } from "../keys/admin-auth.ts";
import { beginReport, type ReportSink, type RequestReport } from "../observe/report.ts";
import { ADMIN_BODY_LIMIT, bodyTooLarge } from "./body.ts";

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
// A random per-process prefix and a counter: unique across processes and restarts, and far cheaper per
// request than a UUID.
const ID_PREFIX = `req_${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex")}`;
let idCounter = 0;

/** The client's own x-request-id when it is sane, otherwise a new one. */
export function requestId(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : `${ID_PREFIX}${(idCounter++).toString(36).padStart(6, "0")}`;
}

export interface BeforeBodyOptions {
  requireAdmin: AdminGuard;
  maxBodyBytes: number;
}

/**
 * Checks made before routing and before any body is read: admin authentication for /admin, then the
 * declared body size. Throws the ApiError to answer with.
 */
export function checkBeforeBody(request: Request, server: Server<unknown> | null | undefined, { requireAdmin, maxBodyBytes }: BeforeBodyOptions): void {
  const admin = pathOf(request.url).startsWith("/admin");
  if (admin) {
    try {
      requireAdmin(request, server?.requestIP(request)?.address);
    } catch (err) {
      // Close rather than drain whatever body an unauthenticated client is still sending.
      if (err instanceof ApiError && request.body) err.headers.connection = "close";
      throw err;
    }
    // A body without a declared length could only be measured by reading it.
    if (request.headers.has("transfer-encoding")) throw new ApiError(411, "Admin requests need a Content-Length header.", "invalid_request_error", "length_required", null, { connection: "close" });
  }
  const limit = admin ? ADMIN_BODY_LIMIT : maxBodyBytes;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw bodyTooLarge(limit);
}

export interface ObserveOptions {
  /** Receives each finished request's report (access log, metrics). */
  report: ReportSink;
  /** Take the client address from X-Forwarded-For (behind a proxy the operator trusts). */
  trustProxy: boolean;
}

/** The request's report, begun with its id and client address. */
export function beginRequest(request: Request, id: string, server: Server<unknown> | null | undefined, { report, trustProxy }: ObserveOptions): RequestReport {
  let client: string | undefined;
  if (trustProxy) client = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim().slice(0, 64) || undefined;
  client ??= server?.requestIP(request)?.address;
  return beginReport(request, id, client, report);
}

/**
 * Any error as the response the client gets, in the shape of the API it called, noting its code (and
 * the refusal reason) in the request's report; only surprises are logged (with their stack).
 */
export function mapError(error: unknown, log: (line: string) => void, shape: ErrorShape = "openai", report?: RequestReport): Response {
  // A lock another process holds, a database that cannot be reached: named by the storage clients.
  const known = classifiedError(error);
  let err: unknown = known ?? error;
  // JSON nested deeper than the parser's stack: the client's mistake, not ours.
  if (!known && error instanceof RangeError) err = new ApiError(400, "The request body is nested too deeply.", "invalid_request_error", "invalid_json");
  else if (!known && !(error instanceof ApiError) && !(error instanceof UserError)) log(`[gateway] internal error: ${(error as Error)?.stack ?? String(error)}`);
  if (report) {
    const status = err instanceof ApiError || err instanceof UserError ? err.status : 500;
    report.error = err instanceof ApiError ? (err.code ?? undefined) : err instanceof UserError ? err.code : "internal_error";
    if (status === 401 || status === 403 || status === 429) report.refusal = (err as ApiError).reason ?? report.error;
  }
  return errorResponse(err, {}, shape);
}

/** The error shape of the API a path belongs to: Anthropic's for /v1/messages, OpenAI's elsewhere. */
export function errorShapeOf(url: string): ErrorShape {
  return pathOf(url).startsWith("/v1/messages") ? "anthropic" : "openai";
}

/** The path of a request URL (with its query), without parsing the whole URL on the hot path. */
function pathOf(url: string): string {
  return url.slice(url.indexOf("/", url.indexOf("//") + 2));
}
