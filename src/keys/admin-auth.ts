import { ApiError } from "../errors.ts";
import { reportOf } from "../observe/report.ts";

/** A named admin token and what it may do: `viewer` only reads (GET), `admin` changes too. */
export interface Admin {
  name: string;
  token: string;
  role: "admin" | "viewer";
}

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest();

export interface AdminGuardOptions {
  /** Failed attempts per client address per clock minute before it is refused with 429. */
  maxFailuresPerMinute?: number;
  clock?: () => number;
  log?: (line: string) => void;
}

/**
 * Guards /admin/*, before anything of the request body is read: without a configured token the routes
 * do not exist (404); otherwise the bearer token must equal one of the admins', compared in constant time
 * over fixed-length digests (every admin's, whichever matches). A viewer may only read: anything but
 * GET is 403 insufficient_role. The admin's name goes to the request's report (access log), never the token. The right token is always accepted, whoever else fails from the same address (a
 * reverse proxy makes every client one address). Failures are counted per client address and minute:
 * past the limit a wrong token gets 429 instead of 401, and guessing a 128-bit token stays hopeless.
 */
export function createAdminGuard(admins: Admin[], { maxFailuresPerMinute = 20, clock = Date.now, log = console.error }: AdminGuardOptions = {}) {
  const expected = admins.map((a) => ({ ...a, digest: digest(a.token) }));
  let window = -1;
  let failures = new Map<string, number>();

  return function requireAdmin(request: Request, clientAddress = "unknown"): Omit<Admin, "token"> {
    if (expected.length === 0) throw new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url");
    const match = /^Bearer +(\S+)$/i.exec(request.headers.get("authorization")?.trim() ?? "");
    if (match) {
      const given = digest(match[1]!);
      let found: (typeof expected)[number] | undefined;
      for (const a of expected) if (crypto.timingSafeEqual(given, a.digest)) found = a;
      if (found) {
        const report = reportOf(request);
        if (report) report.admin = found.name;
        if (found.role === "viewer" && request.method !== "GET" && request.method !== "HEAD") {
          throw new ApiError(403, `The admin token '${found.name}' is a viewer's: it may read, not change anything.`, "invalid_request_error", "insufficient_role");
        }
        return { name: found.name, role: found.role };
      }
    }
    const now = clock();
    const minute = Math.floor(now / 60_000);
    if (minute !== window) {
      window = minute;
      failures = new Map();
    }
    const failed = failures.get(clientAddress) ?? 0;
    if (failed >= maxFailuresPerMinute) {
      throw new ApiError(429, "Too many failed admin authentications from this address; retry after the minute ends.", "requests", "rate_limit_exceeded", null, {
        "retry-after": String(Math.max(1, Math.ceil((60_000 - (now % 60_000)) / 1000))),
      });
    }
    failures.set(clientAddress, failed + 1);
    // The first failure and the one that starts throttling; never the token that was tried.
    if (failed === 0 || failed + 1 === maxFailuresPerMinute) {
      log(`[gateway] admin authentication failed from ${clientAddress} (${failed + 1} this minute${failed + 1 === maxFailuresPerMinute ? "; throttled until the minute ends" : ""})`);
    }
    throw new ApiError(401, "Invalid or missing admin token. Send 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'.", "invalid_request_error", "invalid_admin_token");
  };
}

export type AdminGuard = ReturnType<typeof createAdminGuard>;

/** Who makes an admin request's change, for the audit log: the admin token's name, through the dashboard or the API. */
export function adminActor(request: Request): string {
  const via = request.headers.get("x-gateway-client") === "dashboard" ? "dashboard" : "admin";
  return `${via}:${reportOf(request)?.admin ?? "unknown"}`;
}
