import { Elysia, t } from "elysia";
import { adminErrors, CreatedKeySchema, KeyInfoSchema } from "../docs/schemas.ts";
import { retryBusy } from "../db/client.ts";
import type { KeyService } from "./service.ts";

export interface AdminKeyRoutesOptions {
  keys: KeyService;
  /** Bounds how long a write waits for another process's lock (asynchronously). */
  busyTimeoutMs: number;
}

const security = [{ adminToken: [] }];

/** /admin/keys: the same key service, validation and errors as the CLI. */
// The admin token and the body's declared size were checked before routing (app.ts): a body is only
// read for an authenticated admin, and never more than 64 KB of it.
export function adminKeyRoutes({ keys, busyTimeoutMs }: AdminKeyRoutesOptions) {
  const write = <T>(fn: () => T | Promise<T>) => retryBusy(fn, busyTimeoutMs);
  return new Elysia({ name: "admin-key-routes" })
    .get("/admin/keys", () => keys.list(), {
      response: { 200: t.Array(KeyInfoSchema), ...adminErrors(401) },
      detail: { tags: ["Admin"], summary: "List API keys (never the key or its hash)", security },
    })
    .post(
      "/admin/keys",
      async ({ body, set }) => {
        const created = await write(() => keys.create({ name: body.name, key: body.key, rateLimitPerMinute: body.rate_limit_per_minute }));
        set.status = 201;
        return created;
      },
      {
        body: t.Object(
          {
            name: t.String({ description: "Unique name", examples: ["customer-acme-corp"] }),
            key: t.Optional(t.String({ description: "The plain key (8-256 visible ASCII). Omit to generate a random one." })),
            rate_limit_per_minute: t.Optional(t.Integer({ description: "Requests per minute (default 60)", examples: [200] })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedKeySchema, ...adminErrors(400, 401, 409) },
        detail: { tags: ["Admin"], summary: "Create an API key; the plain key is returned once", security },
      },
    )
    .get("/admin/keys/:id", ({ params }) => keys.get(params.id), {
      params: t.Object({ id: t.String({ description: "Key id (or name)" }) }),
      response: { 200: KeyInfoSchema, ...adminErrors(401, 404) },
      detail: { tags: ["Admin"], summary: "Get one API key", security },
    })
    .patch(
      "/admin/keys/:id",
      ({ params, body }) => write(() => keys.update(params.id, { name: body.name, rateLimitPerMinute: body.rate_limit_per_minute, isActive: body.is_active })),
      {
        params: t.Object({ id: t.String({ description: "Key id (or name)" }) }),
        body: t.Object(
          {
            name: t.Optional(t.String()),
            rate_limit_per_minute: t.Optional(t.Integer()),
            is_active: t.Optional(t.Boolean({ description: "false disables the key: refused (403) from the next request on" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: KeyInfoSchema, ...adminErrors(400, 401, 404, 409) },
        detail: { tags: ["Admin"], summary: "Rename, re-limit, disable or enable an API key", security },
      },
    );
}
