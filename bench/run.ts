// `bun run bench`: what the gateway costs on top of the upstream, against a do-nothing Bun proxy (the floor),
// measured in the same run with targets interleaved. Loopback only; every run bounded in time.
import { Database } from "bun:sqlite";
import { existsSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { memoryMb, spawnServer, type Proc } from "./lib/procs.ts";
import { sequentialTail, type TailResult } from "./lib/sequential.ts";
import { startupMs } from "./lib/startup.ts";
import { percentile, timeStreams } from "./lib/sse-timing.ts";
import { hasWrk, wrk, type WrkResult } from "./lib/wrk.ts";
import { SQL } from "bun";
import { startPostgres } from "../test/helpers/postgres.ts";
import { prepareGateway } from "./setup-gateway.ts";

const ROOT = resolve(import.meta.dir, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const TAIL_SECONDS = Number(process.env.BENCH_TAIL_SECONDS ?? 20);
const BUN = process.execPath;

if (!hasWrk()) {
  console.error("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk");
  process.exit(1);
}
const binary = join(ROOT, "dist/gateway");
if (!existsSync(binary) || process.env.BENCH_REBUILD !== "0") {
  console.log("building dist/gateway ...");
  if (Bun.spawnSync([BUN, "run", "build"], { cwd: ROOT, stdout: "ignore" }).exitCode !== 0) throw new Error("build failed");
}

const procs: Proc[] = [];
const cleanup: string[] = [];
process.on("exit", () => {
  for (const p of procs) p.proc.kill("SIGKILL");
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

const upstream = await spawnServer([BUN, "run", join(ROOT, "bench/fake-upstream.ts"), "0"]);
const floor = await spawnServer([BUN, "run", join(ROOT, "bench/floor-proxy.ts"), "0", upstream.url]);
const slowUpstream = await spawnServer([BUN, "run", join(ROOT, "bench/fake-upstream.ts"), "0"], { env: { BENCH_CHUNKS: "10", BENCH_CHUNK_DELAY_MS: "20" } });
procs.push(upstream, floor, slowUpstream);

const small = await prepareGateway(binary, upstream.url, { cliKeys: 10, fillerKeys: 0 });
const big = await prepareGateway(binary, upstream.url, { cliKeys: 10, fillerKeys: 99_990 });
// Key 0 has no limits, key 1 every limit (none ever reached): what admission costs.
const limited = await prepareGateway(binary, upstream.url, {
  cliKeys: 2,
  fillerKeys: 0,
  keyFlags: ["--budget", "1000000", "--tpm", "1000000000", "--max-parallel", "10000", "--expires", "3650d", "--models", "gpt-*"],
});
// Several-instance mode: the same keys' limits shared through a private Redis (when redis-server is installed).
const redisServer = Bun.which("redis-server") ? await spawnRedis() : undefined;
const sharedDir = redisServer && (await prepareGateway(binary, upstream.url, { cliKeys: 2, fillerKeys: 0, keyFlags: ["--budget", "1000000", "--tpm", "1000000000", "--max-parallel", "10000"] }));
process.on("exit", () => redisServer?.proc.kill("SIGKILL"));
if (!redisServer) console.log("redis-server is not installed: no several-instance row (apt-get install -y redis-server)");
// PostgreSQL + Redis: one instance measured, on a private PostgreSQL server (when Debian's postgresql is installed).
const pgServer = redisServer && existsSync("/usr/lib/postgresql") ? await startPostgres() : undefined;
const pgDir = pgServer && (await prepareGateway(binary, upstream.url, { cliKeys: 1, fillerKeys: 0, env: { GATEWAY_DATABASE_URL: await pgServer.createDatabase(), GATEWAY_REDIS_URL: redisServer!.url } }));
process.on("exit", () => void pgServer?.stop());
if (!pgServer) console.log("postgresql (or redis-server) is not installed: no PostgreSQL row (apt-get install -y postgresql redis-server)");
cleanup.push(small.dir, big.dir, limited.dir, ...(sharedDir ? [sharedDir.dir] : []), ...(pgDir ? [pgDir.dir] : []));
const gateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: small.dir, env: small.env });
const gatewayBig = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: big.dir, env: big.env });
const gatewayLimited = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: limited.dir, env: limited.env });
procs.push(gateway, gatewayBig, gatewayLimited);
const gatewayShared = sharedDir && (await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: sharedDir.dir, env: { ...sharedDir.env, GATEWAY_REDIS_URL: redisServer!.url } }));
if (gatewayShared) procs.push(gatewayShared);
const gatewayPg = pgDir && (await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: pgDir.dir, env: pgDir.env }));
if (gatewayPg) procs.push(gatewayPg);
// Warm-up: bcrypt runs once per key per process (~70 ms); a slow first response would also skew wrk's
// percentiles for the whole run, so every key is verified before anything is measured.
for (const [proc, dir] of [[gateway, small], [gatewayBig, big], [gatewayLimited, limited], ...(gatewayShared ? [[gatewayShared, sharedDir!] as const] : []), ...(gatewayPg ? [[gatewayPg, pgDir!] as const] : [])] as const) {
  for (const key of dir.keys) {
    const r = await fetch(`${proc.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    if (r.status !== 200) throw new Error(`warm-up: ${r.status} ${await r.text()}`);
  }
}
await Bun.sleep(500);
const idleMb = memoryMb(gateway.pid).rss;
// Which phase the gateway's largest resident size was seen in (sampled every 250 ms throughout).
let phase = "warm-up";
const rssPeak = { mb: 0, phase };
const rssWatch = setInterval(() => {
  const mb = memoryMb(gateway.pid).rss;
  if (mb > rssPeak.mb) Object.assign(rssPeak, { mb, phase });
}, 250);

type Target = "upstream" | "floor" | "gateway";
const urls: Record<Target, string> = { upstream: upstream.url, floor: floor.url, gateway: gateway.url };
const results = new Map<string, WrkResult[]>();
const completed = { gateway: 0, gatewayBig: 0, gatewayLimited: 0, gatewayShared: 0, gatewayPg: 0 };
const failures: string[] = [];
let keyTurn = 0;

async function measure(label: string, url: string, connections: number, stream: boolean, key: string): Promise<WrkResult> {
  phase = label;
  const r = await wrk(url, { connections, seconds: SECONDS, key, stream });
  if (r.non2xx || r.socketErrors) failures.push(`${label}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
  results.set(label, [...(results.get(label) ?? []), r]);
  return r;
}

console.log(`measuring: ${ROUNDS} rounds x ${SECONDS} s per run, targets interleaved ...`);
for (let round = 0; round < ROUNDS; round++) {
  for (const stream of [false, true]) {
    for (const connections of [1, 50]) {
      for (const target of ["upstream", "floor", "gateway"] as Target[]) {
        const key = small.keys[keyTurn++ % small.keys.length]!;
        const r = await measure(`${target}|${stream ? "stream" : "json"}|${connections}`, urls[target], connections, stream, key);
        if (target === "gateway") completed.gateway += r.requests;
      }
    }
  }
  for (const [name, proc, dir] of [["10 keys", gateway, small], ["100,000 keys", gatewayBig, big]] as const) {
    const r = await measure(`keys|${name}`, proc.url, 50, false, dir.keys[round % dir.keys.length]!);
    if (proc === gateway) completed.gateway += r.requests;
    else completed.gatewayBig += r.requests;
  }
  for (const [name, key] of [["none", limited.keys[0]!], ["all", limited.keys[1]!]] as const) {
    completed.gatewayLimited += (await measure(`limits|${name}`, gatewayLimited.url, 50, false, key)).requests;
  }
  if (gatewayShared) {
    for (const [name, key] of [["none", sharedDir!.keys[0]!], ["all", sharedDir!.keys[1]!]] as const) {
      completed.gatewayShared += (await measure(`redis|${name}`, gatewayShared.url, 50, false, key)).requests;
    }
  }
  if (gatewayPg) {
    // Next to the SQLite gateway's own runs of this round (same key, no limits).
    for (const connections of [1, 50]) completed.gatewayPg += (await measure(`postgres|json|${connections}`, gatewayPg.url, connections, false, pgDir!.keys[0]!)).requests;
  }
}
const afterLoad = memoryMb(gateway.pid);

// Streaming time to first event, and whether chunks are passed on as they arrive.
const ttfb: Record<string, number[]> = { upstream: [], floor: [], gateway: [] };
phase = "time to first event";
for (let round = 0; round < ROUNDS; round++) {
  for (const target of ["upstream", "floor", "gateway"] as Target[]) {
    const t = await timeStreams(urls[target], small.keys[0]!, 300);
    ttfb[target]!.push(...t.map((x) => x.firstEventMs));
  }
}
const slowGateway = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], {
  cwd: small.dir,
  env: { ...small.env, OPENAI_BASE_URL: `${slowUpstream.url}/v1` },
});
procs.push(slowGateway);
const [slow] = await timeStreams(slowGateway.url, small.keys[1]!, 1);
const gaps = slow!.eventTimesMs.slice(1).map((t, i) => t - slow!.eventTimesMs[i]!);
await slowGateway.stop();

// Tails: every latency of a sequential client, floor then gateway (the gateway's database already holds
// the rows of the runs above, as a live one would).
console.log(`tails: ${TAIL_SECONDS} s sequential client per target ...`);
phase = "sequential tails";
const tails: Record<"floor" | "gateway", TailResult> = {
  floor: await sequentialTail(floor.url, small.keys[3]!, TAIL_SECONDS),
  gateway: await sequentialTail(gateway.url, small.keys[3]!, TAIL_SECONDS),
};
completed.gateway += tails.gateway.requests;

// Soak: memory and WAL size over a long run at 50 connections.
console.log(`soak: ${SOAK_SECONDS} s at 50 connections ...`);
phase = "soak";
const samples: number[] = [];
let walPeakMb = 0;
const walSize = () => {
  try {
    return statSync(`${small.dbPath}-wal`).size / 1024 / 1024;
  } catch {
    return 0;
  }
};
const sampler = setInterval(() => {
  samples.push(memoryMb(gateway.pid).rss);
  walPeakMb = Math.max(walPeakMb, walSize());
}, 250);
const soak = await wrk(gateway.url, { connections: 50, seconds: SOAK_SECONDS, key: small.keys[2]!, stream: false });
clearInterval(sampler);
completed.gateway += soak.requests;
if (soak.non2xx || soak.socketErrors) failures.push(`soak: ${soak.non2xx} non-2xx, ${soak.socketErrors} socket errors`);
const peakMb = memoryMb(gateway.pid).peak;
clearInterval(rssWatch);
const tail = samples.slice(Math.floor(samples.length / 3));
const slopeMbPerMin = linearSlope(tail) * 60 * 4; // samples every 250 ms

// Every request the gateway forwarded has its row; every request wrk completed was forwarded.
await Bun.sleep(300);
const forwarded = async (u: string) => ((await (await fetch(`${u}/count`)).json()) as { fromGateway: number }).fromGateway;
const counts = { fromGateway: (await forwarded(upstream.url)) + (await forwarded(slowUpstream.url)) };
const rowCounts = [small, big, limited, ...(sharedDir ? [sharedDir] : [])].map((d) => {
  const db = new Database(d.dbPath, { readonly: true });
  const r = db.query("SELECT count(*) AS n, coalesce(sum(estimated), 0) AS est FROM usage").get() as { n: number; est: number };
  db.close();
  return r;
});
// The PostgreSQL gateway's rows (no streams there: none estimated).
const pgRows = pgDir ? await countPgRows(pgDir.env.GATEWAY_DATABASE_URL!) : 0;
const rowsTotal = rowCounts.reduce((a, r) => a + r.n, 0) + pgRows;
// Streams cut by wrk stopping are recorded as estimated rows, sometimes before the upstream read the request.
const estimatedRows = rowCounts.reduce((a, r) => a + r.est, 0);
const wrkTotal = completed.gateway + completed.gatewayBig + completed.gatewayLimited + completed.gatewayShared + completed.gatewayPg;

// Start-up: exec to first successful /health on the existing (now large) database.
await gateway.stop();
await gatewayBig.stop();
await gatewayLimited.stop();
await gatewayShared?.stop();
await gatewayPg?.stop();
await pgServer?.stop();
redisServer?.proc.kill("SIGKILL");
const startups: number[] = [];
for (let i = 0; i < 7; i++) startups.push(await startupMs(binary, small.dir, small.env, 19000 + i));

// ---- report ----
const med = (label: string, f: (r: WrkResult) => number) => percentile((results.get(label) ?? []).map(f), 50);
const rows2: string[][] = [];
for (const stream of [false, true]) {
  for (const c of [1, 50]) {
    for (const target of ["upstream", "floor", "gateway"] as Target[]) {
      const l = `${target}|${stream ? "stream" : "json"}|${c}`;
      rows2.push([target, stream ? "stream (total)" : "json", String(c), med(l, (r) => r.rps).toFixed(0), us(med(l, (r) => r.p50Us)), us(med(l, (r) => r.p99Us))]);
    }
  }
}
const ratio = (a: string, b: string, f: (r: WrkResult) => number) => med(a, f) / med(b, f);
const tput = ratio("gateway|json|50", "floor|json|50", (r) => r.rps);
const addedP50 = med("gateway|json|1", (r) => r.p50Us) - med("floor|json|1", (r) => r.p50Us);
const p99Ratio = ratio("gateway|json|50", "floor|json|50", (r) => r.p99Us);
const streamTput = ratio("gateway|stream|50", "floor|stream|50", (r) => r.rps);
const ttfbFloor = percentile(ttfb.floor!, 50);
const ttfbGateway = percentile(ttfb.gateway!, 50);
const keysRatio = ratio("keys|100,000 keys", "keys|10 keys", (r) => r.rps);
const limitsRatio = ratio("limits|all", "limits|none", (r) => r.rps);
const startup = percentile(startups, 50);

console.log(`\nbench ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores, bun ${Bun.version}, ${SECONDS} s per run, median of ${ROUNDS} rounds\n`);
table(["target", "mode", "conns", "req/s", "p50", "p99"], rows2);
console.log(`\nstreaming time to first event (median of ${ttfb.gateway!.length}): upstream ${ms(percentile(ttfb.upstream!, 50))}, floor ${ms(ttfbFloor)}, gateway ${ms(ttfbGateway)}`);
console.log(`chunks 20 ms apart upstream arrive through the gateway with gaps of ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`);
console.log(`admission: key with every limit ${med("limits|all", (r) => r.rps).toFixed(0)} req/s, key with none ${med("limits|none", (r) => r.rps).toFixed(0)} req/s`);
if (gatewayShared) {
  const r = (l: string) => med(l, (x) => x.rps);
  console.log(
    `several instances (limits in Redis, one instance measured): key with none ${r("redis|none").toFixed(0)} req/s (${(r("redis|none") / r("limits|none")).toFixed(2)} of the same without Redis), every limit ${r("redis|all").toFixed(0)} req/s (${(r("redis|all") / r("limits|all")).toFixed(2)})`,
  );
}
if (gatewayPg) {
  const rps = (l: string) => med(l, (x) => x.rps);
  const p50 = (l: string) => med(l, (x) => x.p50Us);
  console.log(
    `PostgreSQL + Redis (server and gateway on the same 2 cores, one instance measured, key without limits): json@50 ${rps("postgres|json|50").toFixed(0)} req/s = ${(rps("postgres|json|50") / rps("gateway|json|50")).toFixed(2)} of SQLite, ${(rps("postgres|json|50") / rps("floor|json|50")).toFixed(2)} of the floor; added p50 at 1 connection ${us(p50("postgres|json|1") - p50("floor|json|1"))} (SQLite ${us(p50("gateway|json|1") - p50("floor|json|1"))}); rows ${pgRows} for ${completed.gatewayPg} responses`,
  );
}
console.log(`keys: 10 keys ${med("keys|10 keys", (r) => r.rps).toFixed(0)} req/s, 100,000 keys ${med("keys|100,000 keys", (r) => r.rps).toFixed(0)} req/s`);
for (const t of ["floor", "gateway"] as const) {
  const r = tails[t];
  console.log(
    `sequential ${t}: ${r.requests} requests, p99 ${ms(r.p99Ms)}, p99.9 ${ms(r.p999Ms)}, max ${ms(r.maxMs)}; pauses over 10 ms at ${r.pausesAt.map((x) => `${x.toFixed(1)}s`).join(", ") || "none"}`,
  );
}
console.log(`WAL file during the soak: at most ${walPeakMb.toFixed(1)} MB`);
console.log(`memory: idle ${idleMb.toFixed(1)} MB, after load ${afterLoad.rss.toFixed(1)} MB, peak ${peakMb.toFixed(1)} MB (largest 250 ms sample ${rssPeak.mb.toFixed(1)} MB, during ${rssPeak.phase}), soak trend ${slopeMbPerMin.toFixed(2)} MB/min over the last ${tail.length} s`);
console.log(`start-up to first /health: median ${startup.toFixed(0)} ms (${startups.map((s) => s.toFixed(0)).join(", ")})`);
console.log(
  `usage rows ${rowsTotal} (${estimatedRows} estimated: streams cut when wrk stopped); requests the upstreams got from the gateways ${counts.fromGateway}; wrk completed ${wrkTotal}\n`,
);

const tailRatio = tails.gateway.p999Ms / tails.floor.p999Ms;
const checks: [string, boolean, string][] = [
  [`largest latency, sequential ${TAIL_SECONDS} s <= 25 ms`, tails.gateway.maxMs <= 25, `${ms(tails.gateway.maxMs)} (${tails.gateway.pausesAt.length} over 10 ms)`],
  ["sequential p99.9, gateway/floor <= 3", tailRatio <= 3, `${tailRatio.toFixed(2)} (${ms(tails.gateway.p999Ms)} vs ${ms(tails.floor.p999Ms)})`],
  ["JSON throughput @50, gateway/floor >= 0.85", tput >= 0.85, tput.toFixed(2)],
  ["streaming throughput @50, gateway/floor >= 0.6", streamTput >= 0.6, streamTput.toFixed(2)],
  ["WAL file during the soak <= 64 MB", walPeakMb <= 64, `${walPeakMb.toFixed(1)} MB`],
  ["added p50 @1 <= 50 us", addedP50 <= 50, `${addedP50.toFixed(0)} us`],
  ["p99 @50, gateway/floor <= 1.5", p99Ratio <= 1.5, p99Ratio.toFixed(2)],
  ["stream time to first event within 0.1 ms of floor", ttfbGateway - ttfbFloor <= 0.1, `${((ttfbGateway - ttfbFloor) * 1000).toFixed(0)} us`],
  ["chunks forwarded as they come (no gap < 10 ms)", gaps.length >= 9 && gaps.every((g) => g > 10), `${gaps.length + 1} events`],
  ["100,000 vs 10 keys throughput >= 0.95", keysRatio >= 0.95, keysRatio.toFixed(2)],
  ["every limit vs none, throughput >= 0.95", limitsRatio >= 0.95, limitsRatio.toFixed(2)],
  ["idle RSS < 60 MB", idleMb < 60, `${idleMb.toFixed(1)} MB`],
  ["peak RSS under load < 150 MB", peakMb < 150, `${peakMb.toFixed(1)} MB`],
  ["no memory growth trend (< 1 MB/min)", Math.abs(slopeMbPerMin) < 1, `${slopeMbPerMin.toFixed(2)} MB/min`],
  ["start-up < 150 ms", startup < 150, `${startup.toFixed(0)} ms`],
  ["every response 200", failures.length === 0, failures.join("; ") || "yes"],
  [
    "a usage row for every forwarded request",
    rowsTotal >= counts.fromGateway && rowsTotal - counts.fromGateway <= estimatedRows && rowsTotal >= wrkTotal,
    `${rowsTotal} rows / ${counts.fromGateway} forwarded`,
  ],
];
table(["target", "", "measured"], checks.map(([name, ok, v]) => [name, ok ? "ok" : "MISSED", v]));
// The exactness guards: admission cost of the bounds, event-loop lag under pathological prompts.
Bun.spawnSync([BUN, "run", join(ROOT, "bench/attack.ts")], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
// Streams at model speed: a chunk every 20 ms to 1,000 open streams, floor vs gateway (its own servers, after the rest stopped).
for (const p of procs) p.proc.kill("SIGKILL");
console.log("\nmodel-speed streams (bench/model-speed.ts):");
Bun.spawnSync([BUN, "run", join(ROOT, "bench/model-speed.ts"), binary], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
// serve --workers: 1 vs 2 threads (bench/workers.ts for 4 and more rounds).
Bun.spawnSync([BUN, "run", join(ROOT, "bench/workers.ts"), binary], { cwd: ROOT, stdout: "inherit", stderr: "inherit", env: { ...process.env, BENCH_WORKERS: process.env.BENCH_WORKERS ?? "1,2" } });
// The response cache: a hit against the same request sent to the provider.
Bun.spawnSync([BUN, "run", join(ROOT, "bench/cache.ts"), binary], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
// What admission costs with a customer's limits on top of a key's.
Bun.spawnSync([BUN, "run", join(ROOT, "bench/customer-admission.ts"), binary], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
process.exit(0);

function us(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(0)} us`;
}
function ms(v: number): string {
  return `${v.toFixed(3)} ms`;
}
function table(header: string[], body: string[][]): void {
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  for (const r of [header, ...body]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  "));
}
function linearSlope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}
/** Usage rows in the PostgreSQL database (one per response the gateway gave). */
async function countPgRows(url: string): Promise<number> {
  const sql = new SQL(url);
  try {
    return Number(((await sql`SELECT count(*) AS n FROM usage`) as { n: string }[])[0]!.n);
  } finally {
    await sql.close();
  }
}

/** A private redis-server on a free port, without persistence. */
async function spawnRedis(): Promise<{ url: string; proc: ReturnType<typeof Bun.spawn> }> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  const proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 200; i++) {
    const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then((sock) => (sock.end(), true), () => false);
    if (up) return { url: `redis://127.0.0.1:${port}`, proc };
    await Bun.sleep(25);
  }
  throw new Error("redis-server did not start");
}
