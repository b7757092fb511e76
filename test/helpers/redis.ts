// A private redis-server (Debian's package) in a temp dir on a free port, for tests; it can be stopped
// and started again on the same port (fault tests).
import type { Subprocess } from "bun";
import { ensureDebianPackage } from "./debian.ts";
import { freePort } from "./net.ts";
import { tempDir } from "./tmp.ts";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs (connections stay open, nothing is answered), then resumes. */
  pause(): void;
  resume(): void;
}

export async function startRedis(): Promise<TestRedis> {
  const binary = ensureDebianPackage("/usr/bin/redis-server", "redis-server", "the shared-limit tests");
  const dir = tempDir("gw-redis-");
  const port = await freePort();
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = Bun.spawn([binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdout: "pipe", stderr: "pipe" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
        (s) => (s.end(), true),
        () => false,
      );
      if (up) return;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await Bun.sleep(50);
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      proc?.kill("SIGKILL");
      await proc?.exited;
    },
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
  };
}
