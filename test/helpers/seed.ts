import { Database } from "bun:sqlite";

export interface SeedRow {
  request_id: string;
  key_id: string;
  model_requested: string;
  prompt_tokens: number;
  completion_tokens: number;
  cost_nano_usd: number | null;
  estimated: number;
  created_at: number;
}

/** Inserts usage rows through a separate connection, as another process would; the roll-up trigger runs as in production. */
export function insertUsage(dbPath: string, rows: SeedRow[]): void {
  const db = new Database(dbPath);
  db.run("PRAGMA busy_timeout = 5000");
  const stmt = db.prepare(
    `INSERT INTO usage (request_id, key_id, model_requested, model_answered, provider, prompt_tokens, completion_tokens,
       cached_tokens, reasoning_tokens, cost_nano_usd, estimated, upstream_status, latency_ms, streamed, created_at)
     VALUES (?, ?, ?, ?, 'seed', ?, ?, NULL, NULL, ?, ?, 200, 5, 0, ?)`,
  );
  db.transaction(() => {
    for (const r of rows) {
      stmt.run(r.request_id, r.key_id, r.model_requested, r.model_requested, r.prompt_tokens, r.completion_tokens, r.cost_nano_usd, r.estimated, r.created_at);
    }
  })();
  db.close();
}

/** A small deterministic PRNG so seeded data is the same on every run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
