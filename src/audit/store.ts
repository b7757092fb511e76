// What the audit log needs from a database; each dialect implements it (src/store/). The rows are written by
// the database's triggers (migrations 0014 / postgres 0009), never by the application.

/** One row of `audit_log` as stored: `before`/`after` are JSON text of the row's audited fields. */
export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  subjectName: string;
  before: string | null;
  after: string | null;
}

export interface AuditQuery {
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** Only entries about the key or customer with this name or id. */
  subject?: string;
  /** Only entries older than this id (the next page). */
  beforeId?: number;
  limit: number;
}

export interface AuditStore {
  /** Matching entries, newest first. */
  list(q: AuditQuery): Promise<AuditRow[]>;
}
