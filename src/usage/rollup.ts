import type { Database } from "bun:sqlite";
import { DAY_MS } from "./time-range.ts";

/** The part of a usage row the daily roll-ups count. */
export interface RollupInput {
  keyId: string;
  modelRequested: string;
  promptTokens: number;
  completionTokens: number;
  costNanoUsd: number | null;
  estimated: boolean;
  createdAt: number;
}

interface Delta {
  day: number;
  keyId: string;
  model: string;
  requests: number;
  prompt: number;
  completion: number;
  cost: number;
  unpriced: number;
  estimated: number;
}

const SUMS = ["requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests"];

function upsert(sqlite: Database, table: string, keys: string[]) {
  const cols = [...keys, ...SUMS];
  return sqlite.prepare(
    `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})
     ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
  );
}

/**
 * Adds a batch of usage rows to the three daily roll-ups. Rows are summed in memory first, so a batch
 * costs one upsert per distinct (day, key, model), not three per row. Call inside the transaction that
 * inserts the rows.
 */
export function createRollupWriter(sqlite: Database) {
  const perKeyModel = upsert(sqlite, "usage_daily", ["day", "key_id", "model"]);
  const perKey = upsert(sqlite, "usage_daily_key", ["day", "key_id"]);
  const perModel = upsert(sqlite, "usage_daily_model", ["day", "model"]);

  return function addToRollups(rows: RollupInput[]): void {
    const groups = new Map<string, Delta>();
    for (const r of rows) {
      const day = Math.floor(r.createdAt / DAY_MS);
      const id = `${day}\u0000${r.keyId}\u0000${r.modelRequested}`;
      let d = groups.get(id);
      if (!d) groups.set(id, (d = { day, keyId: r.keyId, model: r.modelRequested, requests: 0, prompt: 0, completion: 0, cost: 0, unpriced: 0, estimated: 0 }));
      d.requests++;
      d.prompt += r.promptTokens;
      d.completion += r.completionTokens;
      d.cost += r.costNanoUsd ?? 0;
      d.unpriced += r.costNanoUsd === null ? 1 : 0;
      d.estimated += r.estimated ? 1 : 0;
    }
    for (const d of groups.values()) {
      const sums = [d.requests, d.prompt, d.completion, d.cost, d.unpriced, d.estimated] as const;
      perKeyModel.run(d.day, d.keyId, d.model, ...sums);
      perKey.run(d.day, d.keyId, ...sums);
      perModel.run(d.day, d.model, ...sums);
    }
  };
}
