import type { Subprocess } from "bun";
import { mkdtempSync, openSync, readSync, closeSync, fstatSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The last 64 KB of a file ("" when it does not exist yet). */
function tail(path: string): string {
  try {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 65536));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

export interface Proc {
  url: string;
  proc: Subprocess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a server process and waits for its "listening on http://host:port" line. Its output goes to a
 * file, as an operator's would (a pipe read by this process would make the benchmark itself busy).
 */
export async function spawnServer(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Proc> {
  const logPath = join(mkdtempSync(join(tmpdir(), "bench-log-")), "out.log");
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdout: Bun.file(logPath), stderr: Bun.file(`${logPath}.err`), stdin: "ignore" });
  let out = "";
  const read = () => (out = tail(logPath) + tail(`${logPath}.err`));
  const deadline = Date.now() + 15_000;
  for (;;) {
    read();
    const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(out);
    if (m) return { url: `http://127.0.0.1:${m[1]}`, proc, pid: proc.pid, output: read, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) };
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
