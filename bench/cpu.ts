// `bun run bench/cpu.ts [BINARY]`: CPU time per request (user + system, every thread, from /proc) of the
// floor proxy and the gateway under the same wrk load, with the gateway's threads listed by name. On a
// saturated 2-core box throughput follows CPU per request, and this figure does not move with the noise
// of other processes the way req/s does. BENCH_STREAM=1 for streams, BENCH_CONNECTIONS (default 50),
// BENCH_ENV (a JSON object) adds environment to the gateway.
import { join, resolve } from "node:path";
import { threadTicks, TICK_US } from "./lib/proc-cpu.ts";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";
import { prepareGateway } from "./setup-gateway.ts";

const binary = resolve(process.argv[2] ?? "dist/gateway");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const stream = process.env.BENCH_STREAM === "1";

const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));

async function measure(name: string, proc: Proc, key: string): Promise<void> {
  await wrk(proc.url, { connections: CONNECTIONS, seconds: 1, key, stream }); // warm-up
  const before = threadTicks(proc.pid);
  const r = await wrk(proc.url, { connections: CONNECTIONS, seconds: SECONDS, key, stream });
  const after = threadTicks(proc.pid);
  const requests = r.rps * SECONDS;
  let total = 0;
  const rows: string[] = [];
  for (const [thread, ticks] of after) {
    const used = ticks - (before.get(thread) ?? 0);
    total += used;
    if (used > 0) rows.push(`    ${thread.padEnd(16)} ${((used * TICK_US) / requests).toFixed(1)} µs/req`);
  }
  console.log(`${name}: ${r.rps.toFixed(0)} req/s, ${((total * TICK_US) / requests).toFixed(1)} µs CPU per request`);
  console.log(rows.join("\n"));
}

const upstream = await spawnServer([process.execPath, "run", join(import.meta.dir, "fake-upstream.ts"), "0"]);
procs.push(upstream);
const floor = await spawnServer([process.execPath, "run", join(import.meta.dir, "floor-proxy.ts"), "0", upstream.url]);
procs.push(floor);
const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
const gateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: { ...dir.env, ...(JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>) } });
procs.push(gateway);
await measure("floor", floor, "none");
await measure("gateway", gateway, dir.keys[0]!);
await measure("floor", floor, "none");
await measure("gateway", gateway, dir.keys[0]!);
process.exit(0);
