// What one request did, filled in by each step that decides something (gate, admission, exchange,
// recorder) and handed, once the response is complete, to the access log and the metrics.
import type { UsageRecord } from "../usage/record.ts";

export interface RequestReport {
  id: string;
  method: string;
  path: string;
  /** Date.now() and performance.now() when the request arrived. */
  time: number;
  start: number;
  client?: string;
  keyId?: string;
  keyName?: string;
  /** The admin token's name, for /admin requests. */
  admin?: string;
  modelRequested?: string;
  status?: number;
  /** The error code answered (invalid_api_key, rate_limit_exceeded, ...). */
  error?: string;
  /** Why a request was refused before reaching a provider (metrics label). */
  refusal?: string;
  /** The usage row, when the request reached a provider. */
  row?: UsageRecord;
  /** The provider last tried (set when no row says it: an unreachable provider). */
  provider?: string;
  /** Until the answer's headers arrived, ms. */
  upstreamMs?: number;
  /** Streams: until the first upstream bytes were relayed, ms. */
  firstByteMs?: number;
  bytesOut?: number;
  /** Providers that failed before the one that answered. */
  fallbacks?: number;
  /** Open holds: the route's own, plus a stream's until it ends. */
  holds: number;
  /** Receives the report once finished. */
  sink: ReportSink;
}

/** Receives every finished request. */
export type ReportSink = (report: RequestReport) => void;

const reports = new WeakMap<Request, RequestReport>();

export function beginReport(request: Request, id: string, client: string | undefined, sink: ReportSink): RequestReport {
  const url = request.url;
  const at = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", at);
  const report: RequestReport = { id, method: request.method, path: url.slice(at, q === -1 ? undefined : q), time: Date.now(), start: performance.now(), client, holds: 1, sink };
  reports.set(request, report);
  return report;
}

export function reportOf(request: Request): RequestReport | undefined {
  return reports.get(request);
}

/** A stream keeps the report open until it ends. */
export function holdReport(report: RequestReport | undefined): void {
  if (report) report.holds++;
}

export function releaseReport(report: RequestReport | undefined): void {
  if (report && --report.holds === 0) report.sink(report);
}

/** The route answered: its status (and error code); the report is finished unless a stream holds it. */
export function endReport(report: RequestReport | undefined, status: number, error?: { code?: string | null; reason?: string }): void {
  if (!report || report.status !== undefined) return;
  report.status = status;
  if (error?.code) report.error = error.code;
  if (error?.reason) report.refusal = error.reason;
  releaseReport(report);
}

export function elapsedMs(report: RequestReport): number {
  return performance.now() - report.start;
}
