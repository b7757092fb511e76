// `bun run bench/ab.ts OLD_BINARY NEW_BINARY`: interleaved A/B of two gateway binaries on the same fake
// upstream (JSON and streaming at 50 connections, JSON at 1), printing each round and the median ratio
// new/old. For judging a change on a noisy machine: only ratios measured side by side mean anything.
// AB_OLD_ENV / AB_NEW_ENV (JSON objects) add environment to one side, e.g. AB_NEW_ENV='{"GATEWAY_LOG_LEVEL":"warn"}'
// with the same binary twice measures what the access log costs. Each round also prints the gateway's CPU
// time per request (every thread, from /proc): on this saturated box throughput follows it, and it is
// steadier than req/s. AB_CASES="stream @50" (comma-separated names) runs only those cases.
import { join, resolve } from "node:path";
import { processTicks, TICK_US } from "./lib/proc-cpu.ts";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { pinned, wrk } from "./lib/wrk.ts";
import { prepareGateway } from "./setup-gateway.ts";

const [oldBinary, newBinary] = process.argv.slice(2).map((p) => resolve(p));
if (!oldBinary || !newBinary) {
  console.error("usage: bun run bench/ab.ts OLD_BINARY NEW_BINARY");
  process.exit(1);
}
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));

const upstream = await spawnServer([...pinned("load"), process.execPath, "run", join(import.meta.dir, "fake-upstream.ts"), "0"]);
procs.push(upstream);
const servers = [];
for (const [binary, extra] of [[oldBinary, process.env.AB_OLD_ENV], [newBinary, process.env.AB_NEW_ENV]] as const) {
  const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
  const proc = await spawnServer([...pinned("server"), binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: { ...dir.env, ...(extra ? (JSON.parse(extra) as Record<string, string>) : {}) } });
  procs.push(proc);
  servers.push({ url: proc.url, key: dir.keys[0]!, pid: proc.pid });
}
const cases = [
  { name: "json @50", connections: 50, stream: false },
  { name: "stream @50", connections: 50, stream: true },
  { name: "json @1", connections: 1, stream: false },
].filter((c) => !process.env.AB_CASES || process.env.AB_CASES.split(",").includes(c.name));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const c of cases) {
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first: a warming machine must not favour one side.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const rps: number[] = [];
    const cpu: number[] = [];
    for (const i of order) {
      const s = servers[i]!;
      const before = processTicks(s.pid);
      const r = await wrk(s.url, { connections: c.connections, seconds: SECONDS, key: s.key, stream: c.stream });
      rps[i] = r.rps;
      cpu[i] = ((processTicks(s.pid) - before) * TICK_US) / r.requests;
    }
    ratios.push(rps[1]! / rps[0]!);
    cpuRatios.push(cpu[1]! / cpu[0]!);
    console.log(
      `${c.name} round ${round + 1}: old ${rps[0]!.toFixed(0)} req/s ${cpu[0]!.toFixed(1)} µs CPU/req, new ${rps[1]!.toFixed(0)} req/s ${cpu[1]!.toFixed(1)} µs CPU/req, new/old ${ratios.at(-1)!.toFixed(3)} (CPU ${cpuRatios.at(-1)!.toFixed(3)})`,
    );
  }
  console.log(`${c.name}: median new/old ${median(ratios).toFixed(3)}, CPU per request new/old ${median(cpuRatios).toFixed(3)}`);
}
process.exit(0);
