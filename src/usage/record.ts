// One request's usage row, as both dialects write it, and what records it.

/** One request's record, as written to the `usage` table. */
export interface UsageRecord {
  requestId: string;
  keyId: string;
  modelRequested: string;
  modelAnswered: string | null;
  provider: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  costNanoUsd: number | null;
  estimated: boolean;
  upstreamStatus: number;
  latencyMs: number;
  streamed: boolean;
  createdAt: number;
  /** A Responses API answer's id, when there is one. */
  responseId?: string | null;
  /** Upstream attempts (1 without retries). */
  attempts?: number;
  /** Part of promptTokens written to the provider's prompt cache. */
  cacheWriteTokens?: number | null;
  /** The upstream reported more than the request's bound: costNanoUsd is the bound's, the tokens as reported. */
  overBound?: boolean;
  /** A Responses API answer's output item ids: written to response_items with the row, for this key. */
  itemIds?: string[];
  /** Answered from the response cache (cost 0); `savedNanoUsd` is what the answer cost when it was asked of the provider. */
  cacheHit?: boolean;
  savedNanoUsd?: number | null;
}

/** The columns of a usage row, in the order of `usageValues`. */
export const USAGE_COLUMNS = [
  "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens",
  "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at", "response_id", "attempts", "cache_write_tokens", "over_bound", "cache_hit", "saved_nano_usd",
] as const;

/**
 * Writes usage rows: `record()` resolves once the row is committed (and `committed` ran right after the
 * commit, settling the request's reservation) and rejects with the 503 `usage_not_recorded` when it cannot
 * be. Each dialect implements it with a group commit (store/sqlite/recorder.ts, store/postgres/recorder.ts).
 */
export interface UsageRecorder {
  record(row: UsageRecord, committed?: () => void): Promise<void>;
  /** Writes what is queued now, without waiting for the next turn. */
  flush(): void;
  /** Rows recorded and not yet committed or failed. */
  pending(): number;
  /** How long the oldest of those has waited, in ms (0 when none). */
  oldestPendingMs(): number;
  /** Resolves once every row recorded so far is committed or failed. */
  drain(): Promise<void>;
  stop(): void;
}

/** A row's values in the order of USAGE_COLUMNS; `flag` writes a boolean the way the dialect stores it. */
export function usageValues<F>(r: UsageRecord, flag: (b: boolean) => F) {
  return [
    r.requestId, r.keyId, r.modelRequested, r.modelAnswered, r.provider, r.promptTokens, r.completionTokens,
    r.cachedTokens, r.reasoningTokens, r.costNanoUsd, flag(r.estimated), r.upstreamStatus, Math.round(r.latencyMs),
    flag(r.streamed), r.createdAt, r.responseId ?? null, r.attempts ?? 1, r.cacheWriteTokens ?? null, flag(r.overBound ?? false),
    flag(r.cacheHit ?? false), r.savedNanoUsd ?? null,
  ] as const;
}
