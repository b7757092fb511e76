// Where model-speed streams spend CPU, by thread (user + system, from /proc), floor vs gateway:
//   bun run bench/threads-model-speed.ts [BINARY]    env BENCH_STREAMS (1000), BENCH_SECONDS (8)
import { resolve } from "node:path";
import { threadTicks, TICK_US } from "./lib/proc-cpu.ts";
import type { Proc } from "./lib/procs.ts";
import { streamLoad } from "./lib/stream-load.ts";
import { startModelSpeed } from "./model-speed.ts";

const binary = resolve(process.argv[2] ?? "dist/gateway");
const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));
const setup = await startModelSpeed(binary, procs, []);
const n = Number(process.env.BENCH_STREAMS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
for (const [name, proc, key] of [["floor", setup.floor, "none"], ["gateway", setup.gateway, setup.key]] as const) {
  await streamLoad(proc.url, key, n, 2);
  const before = threadTicks(proc.pid);
  const r = await streamLoad(proc.url, key, n, seconds);
  const after = threadTicks(proc.pid);
  const rows = [...after].map(([t, v]) => [t, ((v - (before.get(t) ?? 0)) * TICK_US) / r.events] as const).filter(([, us]) => us > 0.05);
  console.log(`${name}: ${r.completed} streams, ${r.events} chunks; µs per chunk by thread: ${rows.map(([t, us]) => `${t} ${us.toFixed(1)}`).join(", ")}; total ${rows.reduce((s, [, us]) => s + us, 0).toFixed(1)}`);
}
process.exit(0);
