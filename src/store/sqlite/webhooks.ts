// The webhook outbox and deliveries of the embedded SQLite database. Each step is one IMMEDIATE
// transaction: another process's sender waits for it, so no delivery is claimed twice.
import type { Db } from "./client.ts";
import type { ClaimedDelivery, DeliveryRow, WebhookStore } from "../../webhooks/store.ts";

const DUE = `
  SELECT d.event_id AS eventId, d.endpoint, d.attempts, e.type, e.data, e.created_at AS createdAt
  FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
  WHERE d.status = 'pending' AND d.next_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until <= ?1) AND d.endpoint IN (SELECT value FROM json_each(?2))
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND p.subject = d.subject AND p.event_id < d.event_id AND p.status = 'pending')
  ORDER BY d.event_id LIMIT ?3`;

export function sqliteWebhookStore(db: Db): WebhookStore {
  const c = db.$client;
  return {
    add: async (events) =>
      c
        .transaction(() => {
          const insert = c.prepare("INSERT INTO webhook_events (type, subject, dedupe, data, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedupe) DO NOTHING");
          let added = 0;
          for (const e of events) added += insert.run(e.type, e.subject, e.dedupe, JSON.stringify(e.data), e.createdAt).changes;
          return added;
        })
        .immediate(),
    fanOut: async (endpoints, now) =>
      c
        .transaction(() => {
          for (const ep of endpoints) {
            const cursor = c.query<{ last: number }, [string]>("SELECT last_event_id AS last FROM webhook_cursors WHERE endpoint = ?").get(ep.name)?.last;
            if (cursor === undefined) {
              c.query("INSERT INTO webhook_cursors (endpoint, last_event_id) VALUES (?, (SELECT coalesce(max(id), 0) FROM webhook_events))").run(ep.name);
              continue;
            }
            const events = c.query<{ id: number; type: string; subject: string }, [number]>("SELECT id, type, subject FROM webhook_events WHERE id > ? ORDER BY id LIMIT 1000").all(cursor);
            if (events.length === 0) continue;
            const insert = c.prepare("INSERT OR IGNORE INTO webhook_deliveries (event_id, endpoint, subject, status, attempts, next_at) VALUES (?, ?, ?, 'pending', 0, ?)");
            for (const e of events) if (ep.events.has(e.type)) insert.run(e.id, ep.name, e.subject, now);
            c.query("UPDATE webhook_cursors SET last_event_id = ? WHERE endpoint = ?").run(events.at(-1)!.id, ep.name);
          }
        })
        .immediate(),
    claim: async (endpoints, now, leaseMs, limit) =>
      c
        .transaction(() => {
          const due = c.query<ClaimedDelivery, [number, string, number]>(DUE).all(now, JSON.stringify(endpoints), limit);
          const lease = c.prepare("UPDATE webhook_deliveries SET lease_until = ?, attempts = attempts + 1 WHERE event_id = ? AND endpoint = ?");
          for (const d of due) {
            lease.run(now + leaseMs, d.eventId, d.endpoint);
            d.attempts += 1;
          }
          return due;
        })
        .immediate(),
    async settle(eventId, endpoint, o) {
      if (o.status === "pending") c.query("UPDATE webhook_deliveries SET next_at = ?, lease_until = NULL, last_error = ? WHERE event_id = ? AND endpoint = ?").run(o.nextAt, o.error, eventId, endpoint);
      else c.query("UPDATE webhook_deliveries SET status = ?, done_at = ?, lease_until = NULL, last_error = ? WHERE event_id = ? AND endpoint = ?").run(o.status, o.at, o.error ?? null, eventId, endpoint);
    },
    list: async (status, limit) =>
      c
        .query<DeliveryRow, [string, number]>(
          `SELECT d.event_id AS eventId, d.endpoint, e.type, d.subject, d.status, d.attempts, d.next_at AS nextAt, d.last_error AS lastError, e.created_at AS createdAt
           FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE ?1 = 'all' OR d.status = ?1 OR (?1 = 'undelivered' AND d.status <> 'delivered') ORDER BY d.event_id DESC LIMIT ?2`,
        )
        .all(status, limit),
  };
}
