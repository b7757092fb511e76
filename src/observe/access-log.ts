// One line per request, from its report: who, what, which provider, tokens, cost, timings. Never a
// key (only its id and name), never a provider key.
import { isoTime, jsonValue, type Logger, type LogLevel } from "./logger.ts";
import { elapsedMs, type RequestReport } from "./report.ts";

const round = (ms: number) => Math.round(ms * 10) / 10;

export function accessLog(logger: Logger): (r: RequestReport) => void {
  return (r) => {
    // Health checks and scrapes are frequent and uninteresting: debug. Failed answers stand out.
    const level: LogLevel = r.path === "/health" || r.path === "/metrics" ? "debug" : (r.status ?? 0) >= 500 ? "warn" : "info";
    if (!logger.enabled(level)) return;
    if (logger.format === "json") return logger.writeLine(jsonLine(r, level));
    const row = r.row;
    logger.log(level, "request", {
      request_id: r.id, method: r.method, path: r.path, status: r.status, error: r.error, key_id: r.keyId, key_name: r.keyName, client: r.client, admin: r.admin,
      model: row?.modelRequested ?? r.modelRequested, model_answered: row?.modelAnswered ?? undefined, provider: row?.provider, attempts: row?.attempts,
      prompt_tokens: row?.promptTokens, completion_tokens: row?.completionTokens, cost_usd: row?.costNanoUsd == null ? undefined : row.costNanoUsd / 1e9,
      estimated: row?.estimated || undefined, latency_ms: round(elapsedMs(r)), upstream_ms: r.upstreamMs === undefined ? undefined : round(r.upstreamMs),
      first_byte_ms: r.firstByteMs === undefined ? undefined : round(r.firstByteMs), streamed: row?.streamed, bytes_out: r.bytesOut,
    });
  };
}

/**
 * The same fields as JSON, serialized field by field: written for every request, a generic loop over an
 * object cost twice as much. Codes, ids and methods are the gateway's own (no escaping needed); names,
 * paths, models and addresses go through jsonValue.
 */
function jsonLine(r: RequestReport, level: LogLevel): string {
  const row = r.row;
  let line = `{"time":"${isoTime(Math.round(r.time + performance.now() - r.start))}","level":"${level}","msg":"request","request_id":${jsonValue(r.id)},"method":"${r.method}","path":${jsonValue(r.path)},"status":${r.status ?? 0}`;
  if (r.error !== undefined) line += `,"error":"${r.error}"`;
  if (r.keyId !== undefined) line += `,"key_id":"${r.keyId}","key_name":${jsonValue(r.keyName ?? null)}`;
  if (r.client !== undefined) line += `,"client":${jsonValue(r.client)}`;
  if (r.admin !== undefined) line += `,"admin":${jsonValue(r.admin)}`;
  const model = row?.modelRequested ?? r.modelRequested;
  if (model !== undefined) line += `,"model":${jsonValue(model)}`;
  if (row) {
    if (row.modelAnswered !== null) line += `,"model_answered":${jsonValue(row.modelAnswered)}`;
    line += `,"provider":${jsonValue(row.provider)},"attempts":${row.attempts ?? 1},"prompt_tokens":${row.promptTokens},"completion_tokens":${row.completionTokens}`;
    if (row.costNanoUsd !== null) line += `,"cost_usd":${row.costNanoUsd / 1e9}`;
    if (row.estimated) line += `,"estimated":true`;
  }
  line += `,"latency_ms":${round(elapsedMs(r))}`;
  if (r.upstreamMs !== undefined) line += `,"upstream_ms":${round(r.upstreamMs)}`;
  if (r.firstByteMs !== undefined) line += `,"first_byte_ms":${round(r.firstByteMs)}`;
  if (row) line += `,"streamed":${row.streamed}`;
  if (r.bytesOut !== undefined) line += `,"bytes_out":${r.bytesOut}`;
  return `${line}}`;
}
