// The daily roll-ups' arithmetic, for both dialects: a row's contribution to its (day, key, model) sums.
import { DAY_MS } from "./time-range.ts";

export interface Delta {
  day: number;
  keyId: string;
  model: string;
  sums: [requests: number, prompt: number, completion: number, cost: number, unpriced: number, estimated: number, cacheHits: number, saved: number];
}

/** What a roll-up needs of a usage row. */
export interface FoldRow {
  createdAt: number;
  keyId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  costNanoUsd: number | null;
  estimated: boolean | number;
  /** Answered from the response cache, and what that saved (nano-USD). */
  cacheHit?: boolean | number;
  savedNanoUsd?: number | null;
}

/** Sums per (day, key, model), keyed by all three. */
export type DeltaGroups = Map<string, Delta>;

/** Adds rows to their (day, key, model) sums; returns `groups`. */
export function addDeltas(groups: DeltaGroups, rows: Iterable<FoldRow>): DeltaGroups {
  for (const r of rows) {
    const day = Math.floor(r.createdAt / DAY_MS);
    const id = `${day}\u0000${r.keyId}\u0000${r.model}`;
    let d = groups.get(id);
    if (!d) groups.set(id, (d = { day, keyId: r.keyId, model: r.model, sums: [0, 0, 0, 0, 0, 0, 0, 0] }));
    d.sums[0]++;
    d.sums[1] += r.promptTokens;
    d.sums[2] += r.completionTokens;
    d.sums[3] += r.costNanoUsd ?? 0;
    d.sums[4] += r.costNanoUsd === null ? 1 : 0;
    d.sums[5] += Number(r.estimated);
    d.sums[6] += Number(r.cacheHit ?? 0);
    d.sums[7] += r.savedNanoUsd ?? 0;
  }
  return groups;
}

/** An independent copy of the sums. */
export function copyDeltas(groups: DeltaGroups): DeltaGroups {
  return new Map([...groups].map(([id, d]) => [id, { ...d, sums: [...d.sums] }]));
}

/** The sums in a stable order (day, key, model): every writer locks roll-up rows in the same order. */
export function sortedDeltas(groups: DeltaGroups): Delta[] {
  return [...groups.values()].sort((a, b) => a.day - b.day || cmp(a.keyId, b.keyId) || cmp(a.model, b.model));
}

/** Rows summed per (day, key, model), in a stable order (day, key, model). */
export function foldDeltas(rows: Iterable<FoldRow>): Delta[] {
  return sortedDeltas(addDeltas(new Map(), rows));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The roll-up tables' sum columns, in the order of `Delta.sums`. */
export const SUMS = ["requests", "prompt_tokens", "completion_tokens", "cost_nano_usd", "unpriced_requests", "estimated_requests", "cache_hits", "saved_nano_usd"];
