import { openDatabase } from "../../src/store/sqlite/client.ts";
import type { SQL } from "bun";
import { writeUsageRows } from "../../src/store/postgres/recorder.ts";
import { createUsageWriter } from "../../src/store/sqlite/recorder.ts";
import { type UsageRecord } from "../../src/usage/record.ts";
import { createRollupStep } from "../../src/store/sqlite/rollup.ts";

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

/**
 * Writes usage rows through a separate connection with the production writer: folded into the roll-ups
 * in the same transaction, or (`fold: false`) left above the watermark for the roll-up job.
 */
export function insertUsage(dbPath: string, rows: SeedRow[], { fold = true }: { fold?: boolean } = {}): void {
  const db = openDatabase({ path: dbPath, busyTimeoutMs: 5000 });
  createUsageWriter(db, { foldEveryMs: fold ? 0 : Infinity }).immediate(rows.map(toRecord));
  db.$client.close();
}

/** Writes usage rows to PostgreSQL with the production writer (rows and roll-ups in one transaction). */
export async function insertUsagePg(sql: SQL, rows: SeedRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await writeUsageRows(sql, rows.slice(i, i + 500).map(toRecord));
}

function toRecord(r: SeedRow): UsageRecord {
  return {
    requestId: r.request_id,
    keyId: r.key_id,
    modelRequested: r.model_requested,
    modelAnswered: r.model_requested,
    provider: "seed",
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    cachedTokens: null,
    reasoningTokens: null,
    costNanoUsd: r.cost_nano_usd,
    estimated: r.estimated === 1,
    upstreamStatus: 200,
    latencyMs: 5,
    streamed: false,
    createdAt: r.created_at,
  };
}

/** Folds every pending usage row into the daily roll-ups now (the server does this every second). */
export function rollUpNow(dbPath: string): void {
  const db = openDatabase({ path: dbPath, busyTimeoutMs: 5000 });
  const step = createRollupStep(db.$client, 1000);
  while (step() > 0);
  db.$client.close();
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
