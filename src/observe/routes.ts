import { Elysia } from "elysia";
import { ApiError } from "../errors.ts";
import type { MetricsView } from "./metrics.ts";

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function bearerMatches(request: Request, token: string): boolean {
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

async function exposition(metrics: MetricsView): Promise<Response> {
  const { text, contentType } = await metrics.render();
  return new Response(text, { headers: { "content-type": contentType } });
}

/** GET /metrics on the main port, with GATEWAY_METRICS_TOKEN as a bearer token; absent without one. */
export function metricsRoutes(metrics: MetricsView, token: string | undefined) {
  return new Elysia({ name: "metrics-routes" }).get(
    "/metrics",
    ({ request }) => {
      if (!token) throw new ApiError(404, "Unknown route.", "invalid_request_error", "unknown_url");
      if (!bearerMatches(request, token)) throw new ApiError(401, "Invalid or missing metrics token. Send 'Authorization: Bearer <GATEWAY_METRICS_TOKEN>'.", "invalid_request_error", "invalid_metrics_token");
      return exposition(metrics);
    },
    { detail: { hide: true } },
  );
}

/** A listener on 127.0.0.1 that serves only /metrics, without a token (--metrics-port). */
export function serveMetricsPort(metrics: MetricsView, port: number) {
  return Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch: (request) => (new URL(request.url).pathname === "/metrics" ? exposition(metrics) : new Response("Not found\n", { status: 404 })),
  });
}
