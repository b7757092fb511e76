// The audit log of a shared PostgreSQL database (written by its triggers, read here).
import type { SQL } from "bun";
import type { AuditRow, AuditStore } from "../../audit/store.ts";

export function pgAuditStore(sql: SQL): AuditStore {
  return {
    async list({ since, subject, beforeId, limit }) {
      const rows = (await sql`
        SELECT id, at, actor, action, subject_type, subject_id, subject_name, before, after FROM audit_log
        WHERE (${since ?? null}::bigint IS NULL OR at >= ${since ?? null})
          AND (${subject ?? null}::text IS NULL OR subject_id = ${subject ?? null} OR subject_name = ${subject ?? null})
          AND (${beforeId ?? null}::bigint IS NULL OR id < ${beforeId ?? null})
        ORDER BY id DESC LIMIT ${limit}`) as Record<string, string | null>[];
      return rows.map(
        (r): AuditRow => ({
          id: Number(r.id),
          at: Number(r.at),
          actor: r.actor!,
          action: r.action!,
          subjectType: r.subject_type!,
          subjectId: r.subject_id!,
          subjectName: r.subject_name!,
          before: r.before ?? null,
          after: r.after ?? null,
        }),
      );
    },
  };
}
