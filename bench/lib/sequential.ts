// A sequential keep-alive client that records every latency with its time. wrk corrects its percentiles
// for coordinated omission, which smears one pause over the whole run and hides its period; this does not.
import { percentile } from "./sse-timing.ts";

const BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] });

export interface TailResult {
  requests: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Seconds since the start of the run of every request slower than `pauseMs`. */
  pausesAt: number[];
}

/** One request after another for `seconds`, on one connection; every latency kept. */
export async function sequentialTail(url: string, key: string, seconds: number, pauseMs = 10): Promise<TailResult> {
  const latencies: number[] = [];
  const pausesAt: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  const init = { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: BODY };
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, init);
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`sequential client: HTTP ${res.status}`);
    latencies.push(ms);
    if (ms > pauseMs) pausesAt.push((t0 - start) / 1000);
  }
  return {
    requests: latencies.length,
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: Math.max(...latencies),
    pausesAt,
  };
}
