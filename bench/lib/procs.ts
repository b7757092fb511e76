import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";

export interface Proc {
  url: string;
  proc: Subprocess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a server process and waits for its "listening on http://host:port" line. */
export async function spawnServer(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Proc> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    // Only the tail is kept: a gateway logging every request must not make this process busy.
    for await (const c of s) out = (out + d.decode(c, { stream: true })).slice(-65536);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(out);
    if (m) return { url: `http://127.0.0.1:${m[1]}`, proc, pid: proc.pid, output: () => out, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${cmd.join(" ")} did not start:\n${out}`);
    await Bun.sleep(5);
  }
}

/** Resident set size now and at its peak, in MB, from /proc. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}
