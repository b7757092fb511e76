// The response cache: a hit against the same request sent to the provider (x-gateway-cache-ttl: 0), on
// one gateway with one key, interleaved. Latency from a sequential client (every request recorded),
// throughput from 32 concurrent clients. The fake provider answers at once: what a hit saves against a
// real provider (hundreds of ms to seconds) is that provider's whole answer time on top of this.
// Usage: bun run bench/cache.ts [path/to/gateway]
import { join, resolve } from "node:path";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { prepareGateway } from "./setup-gateway.ts";
import { percentile } from "./lib/sse-timing.ts";

const ROOT = resolve(import.meta.dir, "..");
const binary = process.argv[2] ?? join(ROOT, "dist/gateway");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));

const upstream = await spawnServer([process.execPath, "run", join(ROOT, "bench/fake-upstream.ts"), "0"]);
procs.push(upstream);
const dir = await prepareGateway(binary, upstream.url, { cliKeys: 2, fillerKeys: 0, keyFlags: ["--cache-ttl", "1h"] });
const gateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: dir.env });
procs.push(gateway);
const key = dir.keys[1]!;
const body = JSON.stringify({ model: "gpt-4o-mini", temperature: 0, max_tokens: 50, messages: [{ role: "user", content: "What is the capital of France?" }] });
const send = (mode: "hit" | "upstream") =>
  fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(mode === "upstream" ? { "x-gateway-cache-ttl": "0" } : {}) }, body });

// Fill the cache and warm both paths.
for (let i = 0; i < 50; i++) for (const mode of ["hit", "upstream"] as const) await (await send(mode)).arrayBuffer();
const first = await send("hit");
if (first.headers.get("x-gateway-cache") !== "hit") throw new Error(`expected a hit, got ${first.headers.get("x-gateway-cache")}`);
await first.arrayBuffer();

const latencies = { hit: [] as number[], upstream: [] as number[] };
for (let i = 0; i < 600; i++) {
  const mode = i % 2 === 0 ? "hit" : "upstream";
  const t0 = performance.now();
  const r = await send(mode);
  await r.arrayBuffer();
  latencies[mode].push(performance.now() - t0);
}

async function throughput(mode: "hit" | "upstream"): Promise<number> {
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (performance.now() < until) {
      const r = await send(mode);
      await r.arrayBuffer();
      if (r.status === 200) done++;
    }
  }));
  return done / SECONDS;
}
const rps = { hit: [] as number[], upstream: [] as number[] };
for (let round = 0; round < 2; round++) for (const mode of ["upstream", "hit"] as const) rps[mode].push(await throughput(mode));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log("\nresponse cache (bench/cache.ts): one key with --cache-ttl 1h, the same chat request");
for (const mode of ["upstream", "hit"] as const) {
  const l = latencies[mode];
  console.log(`  ${mode === "hit" ? "cache hit       " : "to the provider "}  p50 ${percentile(l, 50).toFixed(3)} ms  p99 ${percentile(l, 99).toFixed(3)} ms  ${median(rps[mode]).toFixed(0)} req/s (32 clients)`);
}
console.log(`  a hit: ${(median(rps.hit) / median(rps.upstream)).toFixed(2)}x the throughput, ${(percentile(latencies.upstream, 50) / percentile(latencies.hit, 50)).toFixed(2)}x faster at p50, against a provider that answers at once`);
process.exit(0);
