// The headers of the pages a browser renders (the dashboard, the API docs): a strict Content-Security-
// Policy (scripts only from this origin, none inline), no framing (clickjacking), no MIME sniffing.
import type { HTMLBundle } from "bun";

const BASE = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Security headers for a page whose scripts all come from this origin. */
export const PAGE_HEADERS: Record<string, string> = { ...BASE, "content-security-policy": CSP };

/**
 * A bundled page's routes (the dashboard, the customer portal). In the compiled binary the page was bundled
 * at build time: its files are served here with the security headers (the page at `at`, its scripts and
 * styles at their own paths). From source, Bun bundles on the fly and serves it itself (development only:
 * without these headers).
 */
export function pageRoutes(page: HTMLBundle, at: string): Record<string, HTMLBundle | ((req: Request) => Response)> {
  const files = (page as HTMLBundle & { files?: { path: string; loader: string; headers: Record<string, string> }[] }).files;
  if (!files) return { [at]: page };
  const routes: Record<string, (req: Request) => Response> = {};
  for (const f of files) {
    const serve = () => new Response(Bun.file(f.path), { headers: { ...f.headers, ...PAGE_HEADERS } });
    routes[f.loader === "html" ? at : `/${f.path.split("/").pop()}`] = serve;
  }
  return routes;
}
