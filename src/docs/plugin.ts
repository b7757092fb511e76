import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import { errorBody } from "../errors.ts";
import { PAGE_HEADERS } from "../http/page-headers.ts";

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>LLM API gateway</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/start.js"></script>
</body>
</html>
`;

const START_SCRIPT = `window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", persistAuthorization: true });\n`;

/**
 * GET /docs (Swagger UI) and GET /docs/json (OpenAPI 3). Swagger UI's script and stylesheet are embedded
 * in the binary and served from /docs/assets, so the page renders with no network access.
 */
export function docsPlugin(version: string, { admin }: { admin: boolean }) {
  const asset = (path: string, type: string) => () =>
    new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });
  return new Elysia({ name: "docs" })
    .get("/docs/assets/swagger-ui-bundle.js", asset(swaggerJs, "application/javascript; charset=utf-8"), { detail: { hide: true } })
    .get("/docs/assets/swagger-ui.css", asset(swaggerCss, "text/css; charset=utf-8"), { detail: { hide: true } })
    // The page and its start-up script are ours (not the plugin's inline script): the strict CSP allows only scripts from here.
    .get("/docs/assets/start.js", () => new Response(START_SCRIPT, { headers: { "content-type": "application/javascript; charset=utf-8", "x-content-type-options": "nosniff" } }), { detail: { hide: true } })
    .get("/docs", () => new Response(DOCS_PAGE, { headers: { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS } }), { detail: { hide: true } })
    // The root names where to go: the docs (which link health and every route).
    .get("/", () => new Response(null, { status: 302, headers: { location: "/docs" } }), { detail: { hide: true } })
    .use(
      openapi({
        path: "/docs",
        specPath: "/docs/json",
        provider: null,
        // Without an admin token /admin/* does not exist: neither does its documentation.
        exclude: { paths: ["/docs", "/docs/json"], tags: admin ? [] : ["Admin"] },
        documentation: {
          openapi: "3.0.3",
          info: {
            title: "LLM API gateway",
            version,
            description:
              "Gateway for OpenAI's and Anthropic's APIs: customer keys, per-key limits and budgets, exact usage and cost records.\n\n" +
              (admin
                ? "Customers authenticate with their API key (`customerKey`); `/admin/*` needs the operator's `GATEWAY_ADMIN_TOKEN` (`adminToken`). "
                : "Customers authenticate with their API key (`customerKey`). ") +
              "Every error has the shape of the API called: OpenAI's on `/v1/chat/completions`, `/v1/responses`, `/v1/embeddings` and the admin API (" +
              "`" + JSON.stringify(errorBody("...", "invalid_request_error", "invalid_api_key")) + "`), Anthropic's on `/v1/messages` (" +
              '`{"type":"error","error":{"type":"authentication_error","message":"..."}}`' + ").",
          },
          tags: [
            { name: "Customer", description: "OpenAI-compatible endpoints, authenticated with a customer API key" },
            ...(admin ? [{ name: "Admin", description: "Key management and cost analytics, authenticated with the admin token" }] : []),
            { name: "Operations", description: "Health" },
          ],
          components: {
            securitySchemes: {
              customerKey: { type: "http", scheme: "bearer", description: "A customer API key created with `gateway create-key`" },
              anthropicKey: { type: "apiKey", in: "header", name: "x-api-key", description: "The same customer key, as Anthropic's SDKs send it (Messages API)" },
              ...(admin ? { adminToken: { type: "http" as const, scheme: "bearer", description: "The operator's GATEWAY_ADMIN_TOKEN" } } : {}),
            },
          },
        },
      }),
    );
}
