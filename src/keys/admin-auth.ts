import * as nodeCrypto from "node:crypto";
import { ApiError } from "../errors.ts";

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest();

/**
 * Guards /admin/*: without a configured token the routes do not exist (404); otherwise the bearer token
 * must equal it, compared in constant time over fixed-length digests.
 */
export function createAdminGuard(adminToken: string | undefined) {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  return function requireAdmin(request: Request): void {
    if (!expected) throw new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url");
    const match = /^Bearer +(\S+)$/i.exec(request.headers.get("authorization")?.trim() ?? "");
    if (!match || !nodeCrypto.timingSafeEqual(digest(match[1]!), expected)) {
      throw new ApiError(401, "Invalid or missing admin token. Send 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'.", "invalid_request_error", "invalid_admin_token");
    }
  };
}

export type AdminGuard = ReturnType<typeof createAdminGuard>;
