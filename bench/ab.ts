// `bun run bench/ab.ts OLD_BINARY NEW_BINARY`: interleaved A/B of two gateway binaries on the same fake
// upstream (JSON and streaming at 50 connections, JSON at 1), printing each round and the median ratio
// new/old. For judging a change on a noisy machine: only ratios measured side by side mean anything.
// AB_OLD_ENV / AB_NEW_ENV (JSON objects) add environment to one side, e.g. AB_NEW_ENV='{"GATEWAY_LOG_LEVEL":"warn"}'
// with the same binary twice measures what the access log costs.
import { join, resolve } from "node:path";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";
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

const upstream = await spawnServer([process.execPath, "run", join(import.meta.dir, "fake-upstream.ts"), "0"]);
procs.push(upstream);
const servers = [];
for (const [binary, extra] of [[oldBinary, process.env.AB_OLD_ENV], [newBinary, process.env.AB_NEW_ENV]] as const) {
  const dir = await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0 });
  const proc = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: { ...dir.env, ...(extra ? (JSON.parse(extra) as Record<string, string>) : {}) } });
  procs.push(proc);
  servers.push({ url: proc.url, key: dir.keys[0]! });
}
const cases = [
  { name: "json @50", connections: 50, stream: false },
  { name: "stream @50", connections: 50, stream: true },
  { name: "json @1", connections: 1, stream: false },
];
for (const c of cases) {
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first: a warming machine must not favour one side.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const rps: number[] = [];
    for (const i of order) rps[i] = (await wrk(servers[i]!.url, { connections: c.connections, seconds: SECONDS, key: servers[i]!.key, stream: c.stream })).rps;
    ratios.push(rps[1]! / rps[0]!);
    console.log(`${c.name} round ${round + 1}: old ${rps[0]!.toFixed(0)} req/s, new ${rps[1]!.toFixed(0)} req/s, new/old ${ratios.at(-1)!.toFixed(3)}`);
  }
  ratios.sort((a, b) => a - b);
  console.log(`${c.name}: median new/old ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}`);
}
process.exit(0);
