import { join } from "node:path";

export interface WrkResult {
  requests: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  socketErrors: number;
}

const SCRIPT = join(import.meta.dir, "../post.lua");

export function hasWrk(): boolean {
  return Bun.spawnSync(["sh", "-c", "command -v wrk"]).exitCode === 0;
}

/**
 * With BENCH_PIN=1 the measured server runs on CPU 0 and the load (wrk, the fake upstream) on CPU 1: the
 * server is then the bottleneck and its throughput says how much it costs, without the noise of sharing
 * its core with the load generator. The prefix to start a process with, for either side.
 */
export function pinned(side: "server" | "load"): string[] {
  return process.env.BENCH_PIN === "1" ? ["taskset", "-c", side === "server" ? "0" : "1"] : [];
}

/** One bounded wrk run against a chat completions URL; loopback only. */
export async function wrk(url: string, opts: { connections: number; seconds: number; key: string; stream: boolean }): Promise<WrkResult> {
  const proc = Bun.spawn(
    [...pinned("load"), "wrk", "-t1", `-c${opts.connections}`, `-d${opts.seconds}s`, "--timeout", "10s", "-s", SCRIPT, `${url}/v1/chat/completions`],
    { env: { ...process.env, BENCH_KEY: opts.key, BENCH_STREAM: opts.stream ? "1" : "0" }, stdout: "pipe", stderr: "pipe" },
  );
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const json = /BENCH_JSON (\{.*\})/.exec(out)?.[1];
  if (code !== 0 || !json) throw new Error(`wrk failed (${code}):\n${out}`);
  const r = JSON.parse(json) as { requests: number; duration_us: number; non2xx: number; socket_errors: number; p50_us: number; p99_us: number };
  return { requests: r.requests, rps: r.requests / (r.duration_us / 1e6), p50Us: r.p50_us, p99Us: r.p99_us, non2xx: r.non2xx, socketErrors: r.socket_errors };
}
