// What operators see, from the compiled binary: one access-log line per request (refusals included,
// never a key), operational messages through the same logger, /metrics behind its token or on a
// localhost port, and a real Prometheus scraping it and answering PromQL with the traffic generated.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPrometheus } from "../helpers/prometheus.ts";

setDefaultTimeout(90_000);

const METRICS_TOKEN = "metrics-token-for-tests-0123456789";
const upstream = startFakeUpstream();
let gw: TestGateway;
let key: { id: string; key: string };
let disabled: { id: string; key: string };
let slow: { id: string; key: string };

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_METRICS_TOKEN: METRICS_TOKEN, GATEWAY_MAX_RETRIES: "0" } });
  key = await gw.createKey("acme-observed", 1000);
  disabled = await gw.createKey("acme-disabled", 1000);
  slow = await gw.createKey("acme-one-per-minute", 1);
  expect((await gw.cli(["disable-key", "acme-disabled"])).code).toBe(0);
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

/** The access-log lines, parsed; every line the server printed must be JSON. */
function logLines(g: TestGateway): Record<string, any>[] {
  return g
    .logs()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, any>;
      } catch {
        throw new Error(`a log line is not JSON: ${l}`);
      }
    });
}
const lineFor = async (g: TestGateway, id: string) => {
  for (let i = 0; i < 40; i++) {
    const found = logLines(g).find((l) => l.request_id === id);
    if (found) return found;
    await Bun.sleep(50);
  }
  throw new Error(`no log line for ${id}`);
};
const chat = (k: string, id: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k}`, "x-request-id": id, ...headers }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body }) });

describe("access log", () => {
  test("one JSON line per request, refusals and upstream errors included, with who, what, tokens, cost and timings; never a key", async () => {
    expect((await chat(key.key, "log-ok", {}, { "x-forwarded-for": "203.0.113.9" })).status).toBe(200);
    expect((await chat("sk-nobody-has-this-key", "log-401")).status).toBe(401);
    expect((await chat(disabled.key, "log-403")).status).toBe(403);
    await (await chat(slow.key, "log-first")).text();
    expect((await chat(slow.key, "log-429")).status).toBe(429);
    expect((await fetch(`${gw.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${key.key}`, "x-request-id": "log-404" } })).status).toBe(404);
    upstream.setHandler(() => Response.json({ error: { message: "down", type: "server_error", param: null, code: null } }, { status: 503 }));
    expect((await chat(key.key, "log-503")).status).toBe(503);
    upstream.reset();
    const streamed = await chat(key.key, "log-stream", { stream: true });
    expect(await streamed.text()).toContain("[DONE]");
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);

    const ok = await lineFor(gw, "log-ok");
    expect(ok).toMatchObject({
      level: "info", msg: "request", method: "POST", path: "/v1/chat/completions", status: 200, key_id: key.id, key_name: "acme-observed",
      client: "127.0.0.1", // X-Forwarded-For is not trusted without trust_proxy
      model: "gpt-4o", model_answered: "gpt-4o-2024-08-06", provider: "openai", attempts: 1, prompt_tokens: 1200, completion_tokens: 300, cost_usd: 0.00575, streamed: false,
    });
    expect(new Date(ok.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(ok.latency_ms).toBeGreaterThan(0);
    expect(ok.upstream_ms).toBeGreaterThan(0);
    expect(ok.upstream_ms).toBeLessThanOrEqual(ok.latency_ms);
    expect(ok.bytes_out).toBeGreaterThan(100);
    expect(await lineFor(gw, "log-401")).toMatchObject({ status: 401, error: "invalid_api_key", client: "127.0.0.1" });
    expect((await lineFor(gw, "log-401")).key_id).toBeUndefined();
    expect(await lineFor(gw, "log-403")).toMatchObject({ status: 403, error: "api_key_disabled", key_id: disabled.id });
    expect(await lineFor(gw, "log-429")).toMatchObject({ status: 429, error: "rate_limit_exceeded", key_name: "acme-one-per-minute" });
    expect(await lineFor(gw, "log-404")).toMatchObject({ method: "GET", path: "/v1/nothing-here", status: 404, error: "unknown_url" });
    expect(await lineFor(gw, "log-503")).toMatchObject({ level: "warn", status: 503, provider: "openai", prompt_tokens: 0 });
    const stream = await lineFor(gw, "log-stream");
    expect(stream).toMatchObject({ status: 200, streamed: true, prompt_tokens: 1200, completion_tokens: 300 });
    expect(stream.first_byte_ms).toBeGreaterThan(0);
    expect(stream.bytes_out).toBeGreaterThan(200);
    // Health checks are logged at debug only; the start-up line has its own message.
    expect(logLines(gw).some((l) => l.path === "/health")).toBe(false);
    expect(logLines(gw)[0]).toMatchObject({ level: "info", msg: expect.stringContaining("gateway listening on http://") });
    for (const secret of [key.key, disabled.key, slow.key, PROVIDER_KEY, METRICS_TOKEN]) expect(gw.logs()).not.toContain(secret);
  });

  test("pretty lines, debug level (health checks), X-Forwarded-For with trust_proxy, and /metrics on a localhost port only", async () => {
    const other = await startGateway({
      mode: "binary",
      upstreamUrl: upstream.url,
      env: { GATEWAY_LOG_LEVEL: "debug", FAKE_KEY: PROVIDER_KEY },
      configToml: `trust_proxy = true\n[[providers]]\nname = "fake"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["*"]\n`,
    });
    try {
      const k = await other.createKey("proxied");
      const res = await fetch(`${other.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k.key}`, "x-forwarded-for": "203.0.113.9, 10.0.0.1" }, body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
      expect(res.status).toBe(200);
      await fetch(`${other.url}/health`);
      await Bun.sleep(200);
      const lines = logLines(other);
      expect(lines.find((l) => l.path === "/v1/chat/completions")).toMatchObject({ client: "203.0.113.9", provider: "fake" });
      expect(lines.find((l) => l.path === "/health")).toMatchObject({ level: "debug", status: 200 });
      expect((await fetch(`${other.url}/metrics`)).status).toBe(404); // no token: not on the main port
    } finally {
      await other.stop();
    }
    const pretty = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_LOG_FORMAT: "pretty", GATEWAY_METRICS_PORT: "0" } });
    try {
      const port = /metrics=127\.0\.0\.1:(\d+)\/metrics/.exec(pretty.logs())?.[1];
      expect(port).toBeDefined();
      const scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(scraped).toContain("# TYPE gateway_requests_total counter");
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      await fetch(`${pretty.url}/v1/models`, { headers: { authorization: "Bearer sk-wrong-key-123456" } });
      await Bun.sleep(200);
      expect(pretty.logs()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO +request .*path=\/v1\/models status=401 error=invalid_api_key/m);
    } finally {
      await pretty.stop();
    }
  });
});

describe("metrics", () => {
  test("/metrics needs the token; it counts requests, tokens, cost, refusals by reason, commits and storage", async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789abcdef" } })).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"|()]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    // From the access-log test: two chat 200s and one 503 from gpt-4o on openai (the 429's first request too: three 200s).
    expect(value('gateway_requests_total{route="chat",status_class="2xx",model="gpt-4o",provider="openai"}')).toBe(3);
    expect(value('gateway_requests_total{route="chat",status_class="5xx",model="gpt-4o",provider="openai"}')).toBe(1);
    expect(value('gateway_refusals_total{reason="invalid_api_key"}')).toBe(1);
    expect(value('gateway_refusals_total{reason="api_key_disabled"}')).toBe(1);
    expect(value('gateway_refusals_total{reason="rate"}')).toBe(1);
    expect(value('gateway_tokens_total{model="gpt-4o",provider="openai",kind="prompt"}')).toBe(3 * 1200);
    expect(value('gateway_tokens_total{model="gpt-4o",provider="openai",kind="cached"}')).toBe(3 * 200);
    expect(value('gateway_cost_usd_total{model="gpt-4o",provider="openai"}')).toBeCloseTo(3 * 0.00575, 9);
    expect(value('gateway_upstream_errors_total{provider="openai",kind="http_503"}')).toBe(1);
    expect(value("gateway_usage_rows_written_total")).toBe(gw.rows().length);
    expect(value("gateway_usage_commit_rows_count")).toBeGreaterThan(0);
    expect(value('gateway_stream_first_byte_seconds_count{route="chat",provider="openai"}')).toBe(1);
    for (const series of ["gateway_wal_bytes", "gateway_usage_rows_unfolded", "process_resident_memory_bytes", "gateway_event_loop_lag_seconds", "gateway_requests_in_flight"]) {
      expect(Number.isFinite(value(series))).toBe(true);
    }
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(10e6);
  });

  test("a real Prometheus scrapes the binary and answers PromQL with the requests and the cost generated", async () => {
    const prometheus = await startPrometheus({ hostPort: new URL(gw.url).host, bearer: METRICS_TOKEN });
    try {
      const before = (await prometheus.waitFor('sum(gateway_requests_total{route="chat",status_class="2xx"})', (v) => v !== undefined)) ?? 0;
      for (let i = 0; i < 7; i++) expect((await chat(key.key, `prom-${i}`)).status).toBe(200);
      const after = await prometheus.waitFor('sum(gateway_requests_total{route="chat",status_class="2xx"})', (v) => v === before + 7);
      expect(after).toBe(before + 7);
      const cost = await prometheus.waitFor('sum(gateway_cost_usd_total{model="gpt-4o"})', (v) => v !== undefined && Math.abs(v - (before + 7) * 0.00575) < 1e-9);
      expect(cost).toBeCloseTo((before + 7) * 0.00575, 9);
      expect(await prometheus.query('up{job="gateway"}')).toBe(1);
    } finally {
      await prometheus.stop();
    }
  });
});
