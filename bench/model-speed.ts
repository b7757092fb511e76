// Model-speed streams: a tick-driven upstream sends one chunk every 20 ms to every open stream (50 chunks,
// then usage); N connections run streams back to back, through the floor proxy and through the gateway,
// interleaved. Per target: CPU per 1,000 chunks (the whole process, every thread, from /proc), memory per
// open stream (RSS growth over the run / N), each stream's largest gap between chunks (p99), and for the
// gateway one usage row per stream.
//   bun run bench/model-speed.ts [BINARY]    env BENCH_STREAMS (1000), BENCH_SECONDS (12), BENCH_ROUNDS (2)
import { Database } from "bun:sqlite";
import { join, resolve } from "node:path";
import { processTicks, TICK_US } from "./lib/proc-cpu.ts";
import { memoryMb, spawnServer, type Proc } from "./lib/procs.ts";
import { percentile } from "./lib/sse-timing.ts";
import { streamLoad } from "./lib/stream-load.ts";
import { prepareGateway } from "./setup-gateway.ts";

export interface ModelSpeedRun {
  target: string;
  streams: number;
  bad: number;
  cpuUsPerKChunk: number;
  kbPerStream: number;
  /** the process's RSS before the run and at its peak, MB */
  rssBeforeMb: number;
  rssPeakMb: number;
  gapP99Ms: number;
  /** gateway only: usage rows written for the run's streams */
  rows?: number;
}

/** One measured run of `connections` connections for `seconds` against a target. */
export async function modelSpeedRun(target: string, proc: Proc, key: string, connections: number, seconds: number, countRows?: () => number): Promise<ModelSpeedRun> {
  const rowsBefore = countRows?.() ?? 0;
  const rssBefore = memoryMb(proc.pid).rss;
  let rssPeak = rssBefore;
  const watch = setInterval(() => (rssPeak = Math.max(rssPeak, memoryMb(proc.pid).rss)), 50);
  const cpuBefore = processTicks(proc.pid);
  const r = await streamLoad(proc.url, key, connections, seconds);
  const cpu = processTicks(proc.pid) - cpuBefore;
  clearInterval(watch);
  let rows: number | undefined;
  if (countRows) {
    // Rows are committed before [DONE] goes out, so they are all there; the poll only guards a slow disk.
    const deadline = Date.now() + 5000;
    while ((rows = countRows() - rowsBefore) < r.completed && Date.now() < deadline) await Bun.sleep(50);
  }
  return {
    target,
    streams: r.completed,
    bad: r.bad,
    cpuUsPerKChunk: ((cpu * TICK_US) / r.events) * 1000,
    kbPerStream: ((rssPeak - rssBefore) * 1024) / connections,
    rssBeforeMb: rssBefore,
    rssPeakMb: rssPeak,
    gapP99Ms: r.largestGaps.length ? percentile(r.largestGaps, 99) : NaN,
    rows,
  };
}

export interface ModelSpeedSetup {
  floor: Proc;
  gateway: Proc;
  key: string;
  dbPath: string;
}

/** Starts the tick upstream, a floor proxy and a gateway on it; `procs` collects them for clean-up. */
export async function startModelSpeed(binary: string, procs: Proc[], cleanup: string[]): Promise<ModelSpeedSetup> {
  const bun = process.execPath;
  const upstream = await spawnServer([bun, "run", join(import.meta.dir, "tick-upstream.ts"), "0"]);
  procs.push(upstream);
  // Bun's fetch runs at most 256 requests at once unless told otherwise: the floor is told, or it would
  // hold back the other 744 streams (a gateway on fetch had that cap too).
  const floor = await spawnServer([bun, "run", join(import.meta.dir, "floor-proxy.ts"), "0", upstream.url], { env: { BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" } });
  procs.push(floor);
  const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
  cleanup.push(dir.dir);
  const gateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: dir.env });
  procs.push(gateway);
  return { floor, gateway, key: dir.keys[0]!, dbPath: dir.dbPath };
}

/** Warm-up, then `rounds` interleaved runs of the floor and the gateway. */
export async function modelSpeed(setup: ModelSpeedSetup, connections: number, seconds: number, rounds: number): Promise<ModelSpeedRun[]> {
  const db = new Database(setup.dbPath, { readonly: true });
  const countRows = () => (db.query("SELECT count(*) AS n FROM usage").get() as { n: number }).n;
  await streamLoad(setup.floor.url, "none", connections, 2);
  await streamLoad(setup.gateway.url, setup.key, connections, 2);
  const runs: ModelSpeedRun[] = [];
  for (let round = 0; round < rounds; round++) {
    runs.push(await modelSpeedRun("floor", setup.floor, "none", connections, seconds));
    runs.push(await modelSpeedRun("gateway", setup.gateway, setup.key, connections, seconds, countRows));
  }
  db.close();
  return runs;
}

export function formatModelSpeed(runs: ModelSpeedRun[]): string {
  const lines = ["| target | streams / bad | CPU per 1,000 chunks | KB per open stream | RSS before → peak | largest gap p99 | usage rows |", "|---|---|---|---|---|---|---|"];
  for (const r of runs) {
    lines.push(`| ${r.target} | ${r.streams} / ${r.bad} | ${(r.cpuUsPerKChunk / 1000).toFixed(1)} ms | ${r.kbPerStream.toFixed(1)} | ${r.rssBeforeMb.toFixed(0)} → ${r.rssPeakMb.toFixed(0)} MB | ${r.gapP99Ms.toFixed(0)} ms | ${r.rows ?? "—"} |`);
  }
  const median = (xs: number[]) => percentile(xs, 50);
  const of = (t: string, f: (r: ModelSpeedRun) => number) => median(runs.filter((r) => r.target === t).map(f));
  const cpuRatio = of("gateway", (r) => r.cpuUsPerKChunk) / of("floor", (r) => r.cpuUsPerKChunk);
  const kb = of("gateway", (r) => r.kbPerStream);
  const rowsOk = runs.every((r) => r.bad === 0 && (r.rows === undefined || r.rows === r.streams));
  lines.push(
    "",
    `CPU per chunk, gateway / floor: ${cpuRatio.toFixed(2)} (target ≤ 1.5: ${cpuRatio <= 1.5 ? "met" : "missed"}); ` +
      `memory per open stream: ${kb.toFixed(1)} KB (target ≤ 32: ${kb <= 32 ? "met" : "missed"}); ` +
      `every stream ended in [DONE] with one usage row: ${rowsOk ? "yes" : "NO"}`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const binary = resolve(process.argv[2] ?? "dist/gateway");
  const procs: Proc[] = [];
  const cleanup: string[] = [];
  process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));
  const setup = await startModelSpeed(binary, procs, cleanup);
  const runs = await modelSpeed(setup, Number(process.env.BENCH_STREAMS ?? 1000), Number(process.env.BENCH_SECONDS ?? 12), Number(process.env.BENCH_ROUNDS ?? 2));
  console.log(formatModelSpeed(runs));
  process.exit(0);
}
