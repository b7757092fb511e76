// `bun run bench/customer-admission.ts [BINARY]`: what admission costs with a customer. One gateway, the
// same wrk load (JSON chat, BENCH_CONNECTIONS default 50, BENCH_SECONDS default 4, BENCH_ROUNDS
// interleaved, default 2) with three keys in turn: no limits but requests per minute; a key budget; a
// key budget plus its customer's requests per minute, tokens per minute and budget. CPU per request is
// every thread of the process, from /proc.
import { join, resolve } from "node:path";
import { processTicks, TICK_US } from "./lib/proc-cpu.ts";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { wrk } from "./lib/wrk.ts";
import { prepareGateway } from "./setup-gateway.ts";

const binary = resolve(process.argv[2] ?? "dist/gateway");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));

const upstream = await spawnServer([process.execPath, "run", join(import.meta.dir, "fake-upstream.ts"), "0"]);
procs.push(upstream);
const dir = await prepareGateway(binary, upstream.url, { cliKeys: 2, fillerKeys: 0, keyFlags: ["--budget", "1000000"] });
const cli = (...args: string[]) => {
  const r = Bun.spawnSync([binary, ...args], { cwd: dir.dir, env: { ...process.env, ...dir.env } });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
cli("create-customer", "bench-co", "--rate-limit", "1000000000", "--tpm", "1000000000", "--budget", "1000000");
const withCustomer = /Plain key \(save this securely\): (\S+)/.exec(cli("create-key", "bench-customer-key", "--generate", "1000000000", "--budget", "1000000", "--customer", "bench-co"))![1]!;
const gw = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: dir.dir, env: dir.env });
procs.push(gw);

const cases: [string, string][] = [
  ["key: rpm only", dir.keys[0]!],
  ["key: + budget", dir.keys[1]!],
  ["key + customer limits", withCustomer],
];
const results = new Map<string, { rps: number[]; cpu: number[] }>(cases.map(([n]) => [n, { rps: [], cpu: [] }]));
for (const [, key] of cases) await wrk(gw.url, { connections: CONNECTIONS, seconds: 1, key, stream: false }); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, key] of cases) {
    const before = processTicks(gw.pid);
    const r = await wrk(gw.url, { connections: CONNECTIONS, seconds: SECONDS, key, stream: false });
    if (r.non2xx > 0) throw new Error(`${name}: ${r.non2xx} answers were not 2xx`);
    results.get(name)!.rps.push(r.rps);
    results.get(name)!.cpu.push(((processTicks(gw.pid) - before) * TICK_US) / r.requests);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.get(cases[0]![0])!.cpu);
console.log(`admission with a customer (${CONNECTIONS} connections, JSON chat, median of ${ROUNDS}):`);
for (const [name] of cases) {
  const r = results.get(name)!;
  console.log(`  ${name.padEnd(24)} ${median(r.rps).toFixed(0).padStart(6)} req/s  ${median(r.cpu).toFixed(0).padStart(4)} µs CPU/req (${(median(r.cpu) / base).toFixed(2)}× rpm only)`);
}
process.exit(0);
