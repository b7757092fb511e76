// One line per request, from its report: who, what, which provider, tokens, cost, timings. Never a
// key (only its id and name), never a provider key.
import type { Logger, LogLevel } from "./logger.ts";
import { elapsedMs, type RequestReport } from "./report.ts";

const round = (ms: number) => Math.round(ms * 10) / 10;

export function accessLog(logger: Logger): (r: RequestReport) => void {
  return (r) => {
    // Health checks and scrapes are frequent and uninteresting: debug. Failed answers stand out.
    const level: LogLevel = r.path === "/health" || r.path === "/metrics" ? "debug" : (r.status ?? 0) >= 500 ? "warn" : "info";
    if (!logger.enabled(level)) return;
    const row = r.row;
    logger.log(level, "request", {
      request_id: r.id,
      method: r.method,
      path: r.path,
      status: r.status,
      error: r.error,
      key_id: r.keyId,
      key_name: r.keyName,
      client: r.client,
      model: row?.modelRequested ?? r.modelRequested,
      model_answered: row?.modelAnswered ?? undefined,
      provider: row?.provider,
      attempts: row?.attempts,
      prompt_tokens: row?.promptTokens,
      completion_tokens: row?.completionTokens,
      cost_usd: row?.costNanoUsd == null ? undefined : row.costNanoUsd / 1e9,
      estimated: row?.estimated || undefined,
      latency_ms: round(elapsedMs(r)),
      upstream_ms: r.upstreamMs === undefined ? undefined : round(r.upstreamMs),
      first_byte_ms: r.firstByteMs === undefined ? undefined : round(r.firstByteMs),
      streamed: row?.streamed,
      bytes_out: r.bytesOut,
    });
  };
}
