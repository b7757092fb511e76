// The webhook outbox and deliveries of a shared PostgreSQL database: several instances deliver, each
// delivery claimed once (FOR UPDATE SKIP LOCKED, then a lease), each endpoint's cursor moved under a row lock.
import type { SQL } from "bun";
import type { ClaimedDelivery, DeliveryRow, WebhookStore } from "../../webhooks/store.ts";

const num = (v: unknown) => Number(v);

export function pgWebhookStore(sql: SQL): WebhookStore {
  return {
    async add(events) {
      let added = 0;
      for (const e of events) {
        const rows = (await sql`INSERT INTO webhook_events (type, subject, dedupe, data, created_at) VALUES (${e.type}, ${e.subject}, ${e.dedupe}, ${JSON.stringify(e.data)}, ${e.createdAt}) ON CONFLICT (dedupe) DO NOTHING RETURNING id`) as unknown[];
        added += rows.length;
      }
      return added;
    },
    async fanOut(endpoints, now) {
      for (const ep of endpoints) {
        await sql.begin(async (tx) => {
          await tx`INSERT INTO webhook_cursors (endpoint, last_event_id) VALUES (${ep.name}, (SELECT coalesce(max(id), 0) FROM webhook_events)) ON CONFLICT (endpoint) DO NOTHING`;
          const [cursor] = (await tx`SELECT last_event_id FROM webhook_cursors WHERE endpoint = ${ep.name} FOR UPDATE`) as { last_event_id: string }[];
          const events = (await tx`SELECT id, type, subject FROM webhook_events WHERE id > ${num(cursor!.last_event_id)} ORDER BY id LIMIT 1000`) as { id: string; type: string; subject: string }[];
          if (events.length === 0) return;
          const wanted = events.filter((e) => ep.events.has(e.type));
          for (const e of wanted) {
            await tx`INSERT INTO webhook_deliveries (event_id, endpoint, subject, status, attempts, next_at) VALUES (${num(e.id)}, ${ep.name}, ${e.subject}, 'pending', 0, ${now}) ON CONFLICT DO NOTHING`;
          }
          await tx`UPDATE webhook_cursors SET last_event_id = ${num(events.at(-1)!.id)} WHERE endpoint = ${ep.name}`;
        });
      }
    },
    async claim(endpoints, now, leaseMs, limit) {
      const rows = (await sql`
        WITH due AS (
          SELECT d.event_id, d.endpoint FROM webhook_deliveries d
          WHERE d.status = 'pending' AND d.next_at <= ${now} AND (d.lease_until IS NULL OR d.lease_until <= ${now}) AND d.endpoint = ANY(${sql.array(endpoints)})
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND p.subject = d.subject AND p.event_id < d.event_id AND p.status = 'pending')
          ORDER BY d.event_id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        UPDATE webhook_deliveries w SET lease_until = ${now + leaseMs}, attempts = w.attempts + 1
        FROM due, webhook_events e WHERE w.event_id = due.event_id AND w.endpoint = due.endpoint AND e.id = w.event_id
        RETURNING w.event_id, w.endpoint, w.attempts, e.type, e.data, e.created_at`) as Record<string, string>[];
      return rows
        .map((r): ClaimedDelivery => ({ eventId: num(r.event_id), endpoint: r.endpoint!, attempts: num(r.attempts), type: r.type!, data: r.data!, createdAt: num(r.created_at) }))
        .sort((a, b) => a.eventId - b.eventId);
    },
    async settle(eventId, endpoint, o) {
      if (o.status === "pending") await sql`UPDATE webhook_deliveries SET next_at = ${o.nextAt}, lease_until = NULL, last_error = ${o.error} WHERE event_id = ${eventId} AND endpoint = ${endpoint}`;
      else await sql`UPDATE webhook_deliveries SET status = ${o.status}, done_at = ${o.at}, lease_until = NULL, last_error = ${o.error ?? null} WHERE event_id = ${eventId} AND endpoint = ${endpoint}`;
    },
    async list(status, limit) {
      const rows = (await sql`
        SELECT d.event_id, d.endpoint, e.type, d.subject, d.status, d.attempts, d.next_at, d.last_error, e.created_at
        FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE ${status} = 'all' OR d.status = ${status} OR (${status} = 'undelivered' AND d.status <> 'delivered') ORDER BY d.event_id DESC LIMIT ${limit}`) as Record<string, string | null>[];
      return rows.map((r): DeliveryRow => ({
        eventId: num(r.event_id), endpoint: r.endpoint!, type: r.type!, subject: r.subject!, status: r.status as DeliveryRow["status"],
        attempts: num(r.attempts), nextAt: num(r.next_at), lastError: r.last_error ?? null, createdAt: num(r.created_at),
      }));
    },
  };
}
