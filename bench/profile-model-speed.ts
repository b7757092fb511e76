// CPU profile of the gateway (from source) under model-speed streams: the tick upstream, N connections
// running streams back to back (bench/model-speed.ts's load), then samples per function.
//   bun run bench/profile-model-speed.ts [OUT_DIR]    env BENCH_STREAMS (1000), BENCH_SECONDS (8)
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { streamLoad } from "./lib/stream-load.ts";
import { prepareGateway } from "./setup-gateway.ts";

const out = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), "prof-")));
const root = join(import.meta.dir, "..");
const procs: Proc[] = [];
process.on("exit", () => procs.forEach((p) => p.proc.kill("SIGKILL")));
const upstream = await spawnServer([process.execPath, "run", join(import.meta.dir, "tick-upstream.ts"), "0"]);
procs.push(upstream);
const dir = await prepareGateway(join(root, "dist/gateway"), upstream.url, { cliKeys: 1, fillerKeys: 0 });
const gateway = await spawnServer(
  [process.execPath, "--cpu-prof", "--cpu-prof-md", "--cpu-prof-interval=200", `--cpu-prof-dir=${out}`, join(root, "cli/index.ts"), "serve", "--port", "0", "--host", "127.0.0.1"],
  { cwd: dir.dir, env: dir.env },
);
procs.push(gateway);
const r = await streamLoad(gateway.url, dir.keys[0]!, Number(process.env.BENCH_STREAMS ?? 1000), Number(process.env.BENCH_SECONDS ?? 8));
console.log(`streams ${r.completed}, bad ${r.bad}, events ${r.events}`);
await gateway.stop();
const profile = readdirSync(out).find((f) => f.endsWith(".cpuprofile"));
console.log(`profile: ${out}/${profile}`);
Bun.spawnSync([process.execPath, "run", join(import.meta.dir, "profile-summary.ts"), join(out, profile!), "45"], { stdout: "inherit", stderr: "inherit" });
procs.forEach((p) => p.proc.kill("SIGKILL"));
