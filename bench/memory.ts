// `bun run bench/memory.ts [BINARY]`: the gateway's resident memory under repeated runs of one kind of
// load (BENCH_STREAM=1 for streams; BENCH_RUNS, default 6, of BENCH_SECONDS, default 4, at 50
// connections): the largest RSS seen during each run (sampled every 100 ms), the JavaScript heap in use
// after it, and at the end the mappings holding the most resident memory. BENCH_ENV (a JSON object) adds
// environment to the gateway, e.g. '{"BUN_OPTIONS":"--smol"}'.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { memoryMb, spawnServer, type Proc } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";
import { prepareGateway } from "./setup-gateway.ts";

const binary = resolve(process.argv[2] ?? "dist/gateway");
const RUNS = Number(process.env.BENCH_RUNS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const stream = process.env.BENCH_STREAM === "1";
const METRICS_TOKEN = "bench-metrics-token-0123456789";

const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));
const upstream = await spawnServer([process.execPath, "run", `${import.meta.dir}/fake-upstream.ts`, "0"]);
procs.push(upstream);
const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
const extra = JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>;
const gateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: { ...dir.env, GATEWAY_METRICS_TOKEN: METRICS_TOKEN, ...extra } });
procs.push(gateway);

let largest = 0;
const sampler = setInterval(() => (largest = Math.max(largest, memoryMb(gateway.pid).rss)), 100);
console.log(`${stream ? "streams" : "JSON"} at 50 connections, ${RUNS} runs of ${SECONDS} s`);
for (let run = 1; run <= RUNS; run++) {
  largest = 0;
  const r = await wrk(gateway.url, { connections: 50, seconds: SECONDS, key: dir.keys[0]!, stream });
  const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const heapMb = Number(/^process_heap_bytes (\S+)/m.exec(metrics)?.[1] ?? 0) / 1e6;
  console.log(`run ${run}: ${r.rps.toFixed(0)} req/s, largest RSS ${largest.toFixed(0)} MB, JS heap in use after ${heapMb.toFixed(0)} MB`);
}
clearInterval(sampler);
console.log(`peak RSS ${memoryMb(gateway.pid).peak.toFixed(0)} MB; largest mappings now:`);
for (const m of largestMappings(gateway.pid, 5)) console.log(`  ${m.rssMb.toFixed(1).padStart(7)} MB resident of ${m.sizeMb.toFixed(0).padStart(5)} MB ${m.name || "(anonymous)"}`);
process.exit(0);

/** The mappings of a process with the most resident memory, from /proc/PID/smaps. */
function largestMappings(pid: number, n: number): { rssMb: number; sizeMb: number; name: string }[] {
  const out: { rssMb: number; sizeMb: number; name: string }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) out.push({ rssMb: 0, sizeMb: (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1048576, name: head[3] ?? "" });
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && out.length > 0) out.at(-1)!.rssMb = Number(rss[1]) / 1024;
  }
  return out.sort((a, b) => b.rssMb - a.rssMb).slice(0, n);
}
