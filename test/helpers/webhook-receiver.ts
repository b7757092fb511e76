// A webhook receiver for tests: a real HTTP server that verifies each delivery with the `standardwebhooks`
// library (as a customer's receiver would) and records it; it can answer 503, 400 or never, on demand.
import { Webhook } from "standardwebhooks";
import { randomBytes } from "node:crypto";

export interface ReceivedEvent {
  /** The webhook-id header. */
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, any>;
  /** The signature verified with the secret. */
  verified: boolean;
  raw: string;
  headers: Record<string, string>;
}

export type ReceiverMode = "ok" | "down" | "bad-request" | "hang";

export const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

export function startReceiver(secret: string) {
  const events: ReceivedEvent[] = [];
  let attempts = 0;
  let mode: ReceiverMode = "ok";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(req) {
      attempts++;
      const raw = await req.text();
      const headers = Object.fromEntries(req.headers);
      if (mode === "down") return new Response("down for maintenance", { status: 503 });
      if (mode === "bad-request") return new Response("no such hook", { status: 400 });
      if (mode === "hang") return new Promise<Response>(() => {});
      let verified = true;
      try {
        new Webhook(secret).verify(raw, headers);
      } catch {
        verified = false;
      }
      const body = JSON.parse(raw) as Omit<ReceivedEvent, "verified" | "raw" | "headers">;
      events.push({ ...body, id: headers["webhook-id"]!, verified, raw, headers });
      return new Response("thanks");
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    events,
    attempts: () => attempts,
    set: (m: ReceiverMode) => void (mode = m),
    of: (type: string) => events.filter((e) => e.type === type),
    stop: () => server.stop(true),
  };
}
