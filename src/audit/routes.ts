// GET /admin/audit: the audit log, newest first, a page at a time (viewers may read it).
import { Elysia, t } from "elysia";
import { adminErrors } from "../docs/schemas.ts";
import type { AuditService } from "./service.ts";

const AuditEntrySchema = t.Object({
  id: t.Integer(),
  at: t.String({ format: "date-time" }),
  actor: t.String({ description: "cli:USER@HOST, admin:NAME, dashboard:NAME, refill, 'link from ADDRESS', or database (a direct change to the database)", examples: ["admin:alice"] }),
  action: t.String({ examples: ["key.disabled"] }),
  subject: t.Object({ type: t.String({ examples: ["key", "customer"] }), id: t.String(), name: t.String() }),
  changes: t.Record(t.String(), t.Object({ before: t.Any(), after: t.Any() }), { description: "Each changed field's value before and after (never a key, hash or secret)" }),
});

export const AuditPageSchema = t.Object({
  entries: t.Array(AuditEntrySchema),
  next_before: t.Union([t.Integer(), t.Null()], { description: "Pass as `before` for the next (older) page; null at the end" }),
});

export function adminAuditRoutes({ audit }: { audit: AuditService }) {
  return new Elysia({ name: "admin-audit-routes" }).get("/admin/audit", ({ query }) => audit.list(query), {
    query: t.Object({
      since: t.Optional(t.String({ description: "A duration back from now (7d, 12h) or an ISO date", examples: ["7d"] })),
      subject: t.Optional(t.String({ description: "Only entries about this key or customer (name or id)" })),
      limit: t.Optional(t.String({ description: "Entries per page, 1-1000 (default 100)" })),
      before: t.Optional(t.String({ description: "next_before of the previous page" })),
    }),
    response: { 200: AuditPageSchema, ...adminErrors(400, 401) },
    detail: { tags: ["Admin"], summary: "The audit log: every change to keys, customers and credits, by whom", security: [{ adminToken: [] }] },
  });
}
