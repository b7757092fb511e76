// `bun run bench/attack.ts` (also the last part of `bun run bench`): what the exactness guards cost and
// what a hostile prompt does to everyone else, on the compiled binary.
// 1. Admission with a budget and a token limit (bound computed, output cap sent) against a key without
//    limits: sequential requests, the two keys interleaved, latency per request.
// 2. Event-loop lag under prompts built to be slow for the tokenizer (a 100 KB "word" of fresh random
//    letters): the longest /health answer, measured by a sequential client, while count_tokens and a
//    tokens-per-minute recount count them; and the same client idle, as the baseline.
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnServer, type Proc } from "./lib/procs.ts";
import { percentile } from "./lib/sse-timing.ts";
import { prepareGateway } from "./setup-gateway.ts";

const ROOT = resolve(import.meta.dir, "..");
const binary = process.env.BENCH_BINARY ?? join(ROOT, "dist/gateway");
if (!existsSync(binary)) throw new Error("build first: bun run build");
const ROUNDS = Number(process.env.BENCH_ATTACK_ROUNDS ?? 5);

const procs: Proc[] = [];
const dirs: string[] = [];
process.on("exit", () => {
  for (const p of procs) p.proc.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const upstream = await spawnServer([process.execPath, "run", join(ROOT, "bench/fake-upstream.ts"), "0"]);
procs.push(upstream);
// Key 0: no limits; key 1: a budget and a token limit never reached; key 2: 1,000 tokens a minute.
const budgeted = await prepareGateway(binary, upstream.url, { cliKeys: 2, fillerKeys: 0, keyFlags: ["--budget", "1000000", "--tpm", "1000000000"] });
const tpm = await prepareGateway(binary, upstream.url, { cliKeys: 2, fillerKeys: 0, keyFlags: ["--tpm", "1000"] });
dirs.push(budgeted.dir, tpm.dir);
const gw = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: budgeted.dir, env: budgeted.env });
const gwTpm = await spawnServer([binary, "serve", "--port", "0", "--host", "127.0.0.1"], { cwd: tpm.dir, env: tpm.env });
procs.push(gw, gwTpm);

const chatBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] });
async function sequential(url: string, key: string, ms: number): Promise<number[]> {
  const out: number[] = [];
  const init = { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: chatBody };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, init);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    out.push((performance.now() - t) * 1000);
  }
  return out;
}
for (const key of budgeted.keys) await sequential(gw.url, key, 300); // bcrypt once per key, warm-up
const free: number[] = [];
const limited: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  free.push(...(await sequential(gw.url, budgeted.keys[0]!, 1000)));
  limited.push(...(await sequential(gw.url, budgeted.keys[1]!, 1000)));
}
const p50 = (xs: number[]) => percentile(xs, 50);
console.log("\nAdmission cost of the bounds (sequential, one connection, µs per request; interleaved 1 s runs)");
console.log("| key | requests | p50 | p99 |\n|---|---|---|---|");
console.log(`| no limits | ${free.length} | ${p50(free).toFixed(0)} | ${percentile(free, 99).toFixed(0)} |`);
console.log(`| budget + TPM (bound, cap sent) | ${limited.length} | ${p50(limited).toFixed(0)} | ${percentile(limited, 99).toFixed(0)} |`);
console.log(`added by the bound: p50 ${(p50(limited) - p50(free)).toFixed(0)} µs`);

const word = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join("");
async function healthLag(url: string, attack: () => Promise<void>): Promise<{ max: number; p99: number; n: number }> {
  const lat: number[] = [];
  let stop = false;
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      await (await fetch(`${url}/health`)).arrayBuffer();
      lat.push(performance.now() - t);
      await Bun.sleep(2);
    }
  })();
  await attack();
  stop = true;
  await probe;
  return { max: Math.max(...lat), p99: percentile(lat, 99), n: lat.length };
}
const post = (url: string, path: string, key: string, body: unknown) =>
  fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer());
const idle = await healthLag(gw.url, () => Bun.sleep(2000));
const counting = await healthLag(gw.url, async () => {
  for (let i = 0; i < 5; i++) await post(gw.url, "/v1/messages/count_tokens", budgeted.keys[0]!, { model: "gpt-4o-mini", messages: [{ role: "user", content: word(100_000) }] });
});
const recount = await healthLag(gwTpm.url, async () => {
  for (let i = 0; i < 5; i++) await post(gwTpm.url, "/v1/chat/completions", tpm.keys[1]!, { model: "gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: word(100_000) }] });
});
console.log("\nEvent-loop lag under pathological prompts (a sequential client on /health, ms)");
console.log("| while | /health answers | p99 | max |\n|---|---|---|---|");
for (const [name, r] of [["idle (baseline)", idle], ["5 count_tokens of a 100 KB word", counting], ["5 TPM recounts of a 100 KB word", recount]] as const) {
  console.log(`| ${name} | ${r.n} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
}
process.exit(0);
