// `bun run bench/workers.ts [BINARY]`: serve --workers at 1, 2 and 4 threads (BENCH_WORKERS="1,2,4") under
// the same wrk load (JSON chat, BENCH_CONNECTIONS default 50, BENCH_SECONDS default 5, BENCH_ROUNDS
// interleaved rounds, default 2): throughput, CPU per request (every thread of the process, from /proc),
// and the share of requests each thread answered (gateway_worker_requests_total). The load generator and
// the fake upstream share this machine's cores with the gateway: say how many there are.
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { processTicks, TICK_US } from "./lib/proc-cpu.ts";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";
import { prepareGateway } from "./setup-gateway.ts";

const binary = resolve(process.argv[2] ?? "dist/gateway");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const COUNTS = (process.env.BENCH_WORKERS ?? "1,2,4").split(",").map(Number);
const TOKEN = "bench-metrics-token-0123456789";

const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));

async function perThread(url: string): Promise<number[]> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return [...text.matchAll(/^gateway_worker_requests_total\{worker="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
}

interface Run {
  rps: number;
  cpuUs: number;
  shares: number[];
}

async function measure(workers: number, dir: Awaited<ReturnType<typeof prepareGateway>>): Promise<Run> {
  const gw = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1", "--workers", String(workers)], { cwd: dir.dir, env: { ...dir.env, GATEWAY_METRICS_TOKEN: TOKEN } });
  procs.push(gw);
  try {
    await wrk(gw.url, { connections: CONNECTIONS, seconds: 1, key: dir.keys[0]!, stream: false }); // warm-up
    const before = [processTicks(gw.pid), await perThread(gw.url)] as const;
    const r = await wrk(gw.url, { connections: CONNECTIONS, seconds: SECONDS, key: dir.keys[0]!, stream: false });
    const ticks = processTicks(gw.pid) - before[0];
    const counts = (await perThread(gw.url)).map((n, i) => n - (before[1][i] ?? 0));
    const total = counts.reduce((a, b) => a + b, 0);
    return { rps: r.rps, cpuUs: (ticks * TICK_US) / r.requests, shares: counts.map((n) => n / total) };
  } finally {
    await gw.stop();
  }
}

const upstream = await spawnServer([process.execPath, "run", join(import.meta.dir, "fake-upstream.ts"), "0"]);
procs.push(upstream);
const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
const runs = new Map<number, Run[]>(COUNTS.map((w) => [w, []]));
for (let round = 0; round < ROUNDS; round++) for (const w of COUNTS) runs.get(w)!.push(await measure(w, dir));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(runs.get(COUNTS[0]!)!.map((r) => r.rps));
console.log(`workers (${availableParallelism()} cores here, shared with wrk and the fake upstream; ${CONNECTIONS} connections, JSON chat, median of ${ROUNDS}):`);
for (const w of COUNTS) {
  const rs = runs.get(w)!;
  const rps = median(rs.map((r) => r.rps));
  const shares = rs.at(-1)!.shares.map((s) => `${Math.round(s * 100)}%`).join("/");
  console.log(`  ${String(w).padStart(2)} thread${w === 1 ? " " : "s"}  ${rps.toFixed(0).padStart(6)} req/s (${(rps / base).toFixed(2)}× 1)  ${median(rs.map((r) => r.cpuUs)).toFixed(0).padStart(4)} µs CPU/req  served ${shares}`);
}
process.exit(0);
