// The audit log of the embedded SQLite database (written by its triggers, read here).
import type { Db } from "./client.ts";
import type { AuditRow, AuditStore } from "../../audit/store.ts";

export function sqliteAuditStore(db: Db): AuditStore {
  return {
    async list({ since, subject, beforeId, limit }) {
      return db.$client
        .query<AuditRow, [number | null, string | null, number | null, number]>(
          `SELECT id, at, actor, action, subject_type AS subjectType, subject_id AS subjectId, subject_name AS subjectName, before, after FROM audit_log
           WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR subject_id = ?2 OR subject_name = ?2) AND (?3 IS NULL OR id < ?3)
           ORDER BY id DESC LIMIT ?4`,
        )
        .all(since ?? null, subject ?? null, beforeId ?? null, limit);
    },
  };
}
