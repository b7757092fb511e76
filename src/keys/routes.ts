import { Elysia, t } from "elysia";
import { adminErrors, CreatedKeySchema, KeyInfoSchema, KeySettingsFields, RotatedKeySchema } from "../docs/schemas.ts";
import { UserError } from "../errors.ts";
import { parseDuration } from "./validate.ts";
import type { KeyService } from "./service.ts";
import type { KeySettings } from "./key-info.ts";
import { adminActor, type AdminGuard } from "./admin-auth.ts";

export interface AdminKeyRoutesOptions {
  keys: KeyService;
  /** Runs a write, retrying it while the database is busy (SQLite: another process's lock), within a bound. */
  retryWrites: <T>(fn: () => T | Promise<T>) => Promise<T>;
}

const security = [{ adminToken: [] }];
const SHARE_FIELD = t.Optional(t.String({ description: "Return a one-time link to the key (claim_url) instead of the key, valid this long (at most 30d)", examples: ["24h"] }));

/** /admin/keys: the same key service, validation and errors as the CLI. */
// The admin token and the body's declared size were checked before routing (app.ts): a body is only
// read for an authenticated admin, and never more than 64 KB of it.
export function adminKeyRoutes({ keys, retryWrites: write }: AdminKeyRoutesOptions) {
  return new Elysia({ name: "admin-key-routes" })
    .get("/admin/keys", ({ query }) => keys.list({ all: query.all === "true", hint: query.hint }), {
      query: t.Object({
        all: t.Optional(t.String({ description: "'true' also lists deleted keys" })),
        hint: t.Optional(t.String({ description: "Only keys whose value ends with these 4 characters (trace a leaked value)", examples: ["Ab3x"] })),
      }),
      response: { 200: t.Array(KeyInfoSchema), ...adminErrors(401) },
      detail: { tags: ["Admin"], summary: "List API keys (never the key or its hash)", security },
    })
    .post(
      "/admin/keys",
      async ({ body, set, request }) => {
        const created = await write(() => keys.create({ name: body.name, key: body.key, share: body.share, ...settingsOf(body), by: adminActor(request) }));
        set.status = 201;
        return created;
      },
      {
        body: t.Object(
          {
            name: t.String({ description: "Unique name", examples: ["customer-acme-corp"] }),
            key: t.Optional(t.String({ description: "The plain key (8-256 visible ASCII). Omit to generate a random one." })),
            share: SHARE_FIELD,
            ...KeySettingsFields,
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
      ({ params, body, request }) => write(() => keys.update(params.id, { name: body.name, isActive: body.is_active, ...settingsOf(body) }, adminActor(request))),
      {
        params: t.Object({ id: t.String({ description: "Key id (or name)" }) }),
        body: t.Object(
          {
            name: t.Optional(t.String()),
            is_active: t.Optional(t.Boolean({ description: "false disables the key: refused (403) from the next request on" })),
            ...KeySettingsFields,
          },
          { additionalProperties: false },
        ),
        response: { 200: KeyInfoSchema, ...adminErrors(400, 401, 404, 409) },
        detail: { tags: ["Admin"], summary: "Rename, re-limit, budget, disable or enable an API key (null clears a setting)", security },
      },
    )
    .post(
      "/admin/keys/:id/rotate",
      async ({ params, body, request }) => {
        const graceMs = body?.grace === undefined ? 0 : parseDuration(body.grace);
        if (graceMs === null) throw new UserError(`grace must be a duration such as 24h or 30m, got '${body?.grace}'`);
        return write(() => keys.rotate(params.id, { key: body?.key, graceMs, share: body?.share, by: adminActor(request) }));
      },
      {
        params: t.Object({ id: t.String({ description: "Key id (or name)" }) }),
        body: t.Optional(
          t.Object(
            {
              key: t.Optional(t.String({ description: "The new plain key; omit to generate one" })),
              grace: t.Optional(t.String({ description: "How long the old value keeps working, e.g. 24h (default: not at all)", examples: ["24h"] })),
              share: SHARE_FIELD,
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: RotatedKeySchema, ...adminErrors(400, 401, 404, 409) },
        detail: { tags: ["Admin"], summary: "Give a key a new value (same id, usage, budget and limits); the new value is returned once", security },
      },
    )
    .delete("/admin/keys/:id", ({ params, request }) => write(() => keys.delete(params.id, adminActor(request))), {
      params: t.Object({ id: t.String({ description: "Key id (or name)" }) }),
      response: { 200: KeyInfoSchema, ...adminErrors(401, 404) },
      detail: { tags: ["Admin"], summary: "Delete a key: it stops working at once; its usage and reports stay", security },
    });
}

/** GET /admin/whoami: the admin token's name and role (the dashboard hides what a viewer cannot do). */
export function adminWhoamiRoute(requireAdmin: AdminGuard) {
  return new Elysia({ name: "admin-whoami" }).get("/admin/whoami", ({ request }) => requireAdmin(request), {
    response: { 200: t.Object({ name: t.String(), role: t.Union([t.Literal("admin"), t.Literal("viewer")], { description: "viewer: every GET, no change (403 insufficient_role)" }) }), ...adminErrors(401) },
    detail: { tags: ["Admin"], summary: "Which admin token this is: its name and role", security },
  });
}

/** The settings fields of an admin body, as the key service takes them. */
function settingsOf(body: Record<string, unknown>): KeySettings {
  return {
    rateLimitPerMinute: body.rate_limit_per_minute,
    budgetUsd: body.budget_usd,
    budgetPeriod: body.budget_period,
    tpmLimit: body.tpm_limit,
    maxParallel: body.max_parallel,
    expiresAt: body.expires_at,
    allowedModels: body.allowed_models,
    allowedIps: body.allowed_ips,
    maxOutputTokens: body.max_output_tokens,
    cacheTtl: body.cache_ttl,
    customer: body.customer,
  };
}
