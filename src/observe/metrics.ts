// Prometheus metrics. prom-client renders the exposition format, loaded at the first scrape; the
// per-request counts are kept in plain maps and handed to it then (a labelled prom-client call costs
// ~0.4 µs and a request touches a dozen series), and histograms are counted in arrays (FastHistogram).
import type { Counter, Gauge, Registry } from "prom-client";
import { FastHistogram } from "./histogram.ts";
import type { RequestReport } from "./report.ts";

export interface MetricsOptions {
  /** Label requests, tokens and cost with the key's name too (one series per key: cardinality). */
  perKey: boolean;
  /** A model the operator configured (priced or named by a provider): always its own label. */
  knownModel?: (model: string) => boolean;
  /** Read at scrape time. */
  gauges: {
    unfoldedRows: () => number;
    walBytes: () => number;
    inFlight: () => number;
  };
}

interface Totals {
  labels: Record<string, string>;
  requests: number;
}

interface UsageTotals {
  labels: Record<string, string>;
  prompt: number;
  completion: number;
  cached: number;
  reasoning: number;
  cacheWrite: number;
  costNano: number;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The route a path belongs to (a bounded label set). */
export function routeLabel(path: string): string {
  if (path.startsWith("/v1/chat/completions")) return "chat";
  if (path.startsWith("/v1/messages/count_tokens")) return "count_tokens";
  if (path.startsWith("/v1/messages")) return "messages";
  if (path.startsWith("/v1/responses")) return "responses";
  if (path.startsWith("/v1/embeddings")) return "embeddings";
  if (path.startsWith("/v1/models")) return "models";
  if (path.startsWith("/v1/usage") || path.startsWith("/v1/key")) return "customer_reports";
  if (path.startsWith("/admin")) return "admin";
  if (path === "/health") return "health";
  if (path === "/metrics") return "metrics";
  if (path.startsWith("/docs") || path.startsWith("/dashboard") || path === "/") return "ui";
  return "other";
}

/** Counts by label set, kept in a Map on the request path and handed to prom-client at scrape time. */
class Tally {
  readonly series = new Map<string, { labels: Record<string, string>; value: number }>();
  add(key: string, labels: () => Record<string, string>, n = 1): void {
    const s = this.series.get(key);
    if (s) s.value += n;
    else this.series.set(key, { labels: labels(), value: n });
  }
}

// Models a provider answered successfully get their own label too, up to this many.
const MAX_SERVED_MODELS = 500;

export function createMetrics({ perKey, gauges, knownModel = () => false }: MetricsOptions) {
  const requests = new Map<string, Totals>();
  const usage = new Map<string, UsageTotals>();
  const refusals = new Tally();
  const upstreamErrors = new Tally();
  const retries = new Tally();
  const fallbacks = new Tally();
  const webhooks = new Tally();
  const overBound = new Tally();
  const served = new Set<string>();
  const byWorker: number[] = [];
  let rowsWritten = 0;
  let lagMax = 0;
  const duration = new FastHistogram("gateway_request_duration_seconds", "Time to the complete answer (streams: to their end), by route.", LATENCY_BUCKETS);
  const upstreamDuration = new FastHistogram("gateway_upstream_duration_seconds", "Time until the provider's answer headers, by provider.", LATENCY_BUCKETS);
  const firstByte = new FastHistogram("gateway_stream_first_byte_seconds", "Streams: time to the first relayed bytes, by route and provider.", LATENCY_BUCKETS);
  const commitRows = new FastHistogram("gateway_usage_commit_rows", "Rows per group commit.", [1, 2, 5, 10, 20, 50, 100, 256]);
  const commitSeconds = new FastHistogram("gateway_usage_commit_seconds", "Group commit duration.", [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5]);

  /**
   * The registry, built at the first scrape: prom-client takes 15-45 ms to load, which start-up does not
   * pay, and the request path never touches it.
   */
  let registry: Promise<Registry> | undefined;
  async function buildRegistry(): Promise<Registry> {
    const client = await import("prom-client");
    const reg = new client.Registry();
    const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
      new client.Counter({ name, help, labelNames, registers: [reg], collect(this: Counter) { this.reset(); fill(this); } });
    const tally = (name: string, help: string, labelNames: string[], t: Tally) => counter(name, help, labelNames, (c) => { for (const s of t.series.values()) c.inc(s.labels, s.value); });
    const gauge = (name: string, help: string, read: () => number) => new client.Gauge({ name, help, registers: [reg], collect(this: Gauge) { this.set(read()); } });
    const requestLabels = ["route", "status_class", "model", "provider", ...(perKey ? ["key"] : [])];
    const usageLabels = ["model", "provider", ...(perKey ? ["key"] : [])];
    counter("gateway_requests_total", "Requests answered, by route, status class, model and provider.", requestLabels, (c) => {
      for (const t of requests.values()) c.inc(t.labels, t.requests);
    });
    const kinds = [["prompt", "prompt"], ["completion", "completion"], ["cached", "cached"], ["reasoning", "reasoning"], ["cache_write", "cacheWrite"]] as const;
    counter("gateway_tokens_total", "Tokens recorded, by model, provider and kind (prompt includes cached and cache_write).", [...usageLabels, "kind"], (c) => {
      for (const t of usage.values()) for (const [kind, field] of kinds) if (t[field] > 0) c.inc({ ...t.labels, kind }, t[field]);
    });
    counter("gateway_cost_usd_total", "Cost recorded (priced requests), US dollars, by model and provider.", usageLabels, (c) => {
      for (const t of usage.values()) c.inc(t.labels, t.costNano / 1e9);
    });
    tally("gateway_refusals_total", "Requests refused before reaching a provider, by reason.", ["reason"], refusals);
    tally("gateway_upstream_errors_total", "Failed upstream answers, by provider and kind (http_<status>, timeout, unreachable, ...).", ["provider", "kind"], upstreamErrors);
    tally("gateway_upstream_retries_total", "Upstream attempts beyond the first, by the provider that answered in the end.", ["provider"], retries);
    tally("gateway_usage_over_bound_total", "Requests whose upstream reported more usage than the request could use (charged at the bound), by provider.", ["provider"], overBound);
    tally("gateway_webhook_deliveries_total", "Webhook delivery attempts, by endpoint and outcome (delivered, retried, failed).", ["endpoint", "outcome"], webhooks);
    tally("gateway_fallbacks_total", "Requests answered by another provider than the first choice.", ["provider"], fallbacks);
    counter("gateway_worker_requests_total", "Requests answered, by the thread that served them (serve --workers; 0 is the primary).", ["worker"], (c) => {
      byWorker.forEach((n, i) => c.inc({ worker: String(i) }, n));
    });
    counter("gateway_usage_rows_written_total", "Usage rows committed.", [], (c) => c.inc(rowsWritten));
    for (const h of [duration, upstreamDuration, firstByte, commitRows, commitSeconds]) reg.registerMetric(h as never);
    gauge("gateway_usage_rows_unfolded", "Usage rows not yet folded into the daily roll-ups.", gauges.unfoldedRows);
    gauge("gateway_wal_bytes", "Size of the database's write-ahead log.", gauges.walBytes);
    gauge("gateway_requests_in_flight", "Requests being served now (open streams included).", gauges.inFlight);
    gauge("process_resident_memory_bytes", "Resident memory of the process.", () => process.memoryUsage.rss());
    gauge("process_heap_bytes", "JavaScript heap in use.", () => process.memoryUsage().heapUsed);
    gauge("gateway_event_loop_lag_seconds", "Longest event-loop delay since the previous scrape.", () => {
      const lag = lagMax;
      lagMax = 0;
      return lag / 1000;
    });
    return reg;
  }

  // Event-loop lag: how late a 100 ms timer fires.
  let expected = performance.now() + 100;
  const sampler = setInterval(() => {
    const now = performance.now();
    lagMax = Math.max(lagMax, now - expected);
    expected = now + 100;
  }, 100);
  sampler.unref();

  /**
   * A model name a customer cannot use to add series: one the operator configured, or one a provider
   * answered successfully (bounded by what providers serve); any other is "other".
   */
  function modelLabel(model: string, upstreamStatus: number | undefined): string {
    if (model === "" || served.has(model) || knownModel(model)) return model;
    if (upstreamStatus !== undefined && upstreamStatus >= 200 && upstreamStatus < 300 && served.size < MAX_SERVED_MODELS) {
      served.add(model);
      return model;
    }
    return "other";
  }

  /** Counts one finished request, answered by thread `worker` (serve --workers; 0 is the primary). */
  function observe(r: RequestReport, worker = 0): void {
    byWorker[worker] = (byWorker[worker] ?? 0) + 1;
    const route = routeLabel(r.path);
    const row = r.row;
    const model = modelLabel(row?.modelRequested ?? r.modelRequested ?? "", row?.upstreamStatus);
    const provider = row?.provider ?? "";
    const key = perKey ? (r.keyName ?? "") : "";
    const status = r.status ?? 0;
    const statusClass = `${Math.floor(status / 100)}xx`;
    const id = `${route}\u0000${statusClass}\u0000${model}\u0000${provider}\u0000${key}`;
    let t = requests.get(id);
    if (!t) requests.set(id, (t = { labels: { route, status_class: statusClass, model, provider, ...(perKey ? { key } : {}) }, requests: 0 }));
    t.requests++;
    duration.observe(route, () => ({ route }), (performance.now() - r.start) / 1000);
    if (r.refusal) refusals.add(r.refusal, () => ({ reason: r.refusal! }));
    if (r.upstreamMs !== undefined && provider) upstreamDuration.observe(provider, () => ({ provider }), r.upstreamMs / 1000);
    if (r.firstByteMs !== undefined) firstByte.observe(`${route}\u0000${provider}`, () => ({ route, provider }), r.firstByteMs / 1000);
    const failed = r.error && (r.error.startsWith("upstream_") || r.error === "bad_upstream_response") ? r.error.replace(/^upstream_/, "") : row && row.upstreamStatus >= 400 ? `http_${row.upstreamStatus}` : undefined;
    if (failed) upstreamErrors.add(`${provider}\u0000${failed}`, () => ({ provider: provider || "unknown", kind: failed }));
    if (r.fallbacks) fallbacks.add(provider, () => ({ provider }));
    if (!row) return;
    if (row.overBound) overBound.add(provider, () => ({ provider }));
    if ((row.attempts ?? 1) > 1) retries.add(provider, () => ({ provider }), (row.attempts ?? 1) - 1);
    const uid = `${model}\u0000${provider}\u0000${key}`;
    let u = usage.get(uid);
    if (!u) usage.set(uid, (u = { labels: { model, provider, ...(perKey ? { key } : {}) }, prompt: 0, completion: 0, cached: 0, reasoning: 0, cacheWrite: 0, costNano: 0 }));
    u.prompt += row.promptTokens;
    u.completion += row.completionTokens;
    u.cached += row.cachedTokens ?? 0;
    u.reasoning += row.reasoningTokens ?? 0;
    u.cacheWrite += row.cacheWriteTokens ?? 0;
    u.costNano += row.costNanoUsd ?? 0;
  }

  return {
    observe,
    /** A group commit of `rows` rows that took `seconds`. */
    committed(rows: number, seconds: number): void {
      rowsWritten += rows;
      commitRows.observe("", () => ({}), rows);
      commitSeconds.observe("", () => ({}), seconds);
    },
    /** One webhook delivery attempt's outcome. */
    webhook(endpoint: string, outcome: string): void {
      webhooks.add(`${endpoint}\u0000${outcome}`, () => ({ endpoint, outcome }));
    },
    /** Refusal counts since start, for the dashboard. */
    refusalCounts(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const s of refusals.series.values()) out[s.labels.reason!] = s.value;
      return out;
    },
    async render(): Promise<{ text: string; contentType: string }> {
      registry ??= buildRegistry();
      const reg = await registry;
      return { text: await reg.metrics(), contentType: reg.contentType };
    },
    stop: () => clearInterval(sampler),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What the routes show of the metrics (a request thread of serve --workers asks the primary's). */
export interface MetricsView {
  render(): Promise<{ text: string; contentType: string }>;
  refusalCounts(): Record<string, number> | Promise<Record<string, number>>;
}
