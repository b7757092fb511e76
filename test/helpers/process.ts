import type { Subprocess } from "bun";
import { cleanEnv, cliCommand } from "./cli.ts";

export interface ServerProcess {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface StartOptions {
  cwd: string;
  env?: Record<string, string>;
  args?: string[];
  binary?: string;
}

/** Starts `gateway serve --port 0` as a real process and waits until it says where it listens. */
export async function startServerProcess(opts: StartOptions): Promise<ServerProcess> {
  const proc = Bun.spawn([...cliCommand(opts.binary), "serve", "--port", "0", "--host", "127.0.0.1", ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + 15_000;
  let url: string | undefined;
  while (!url) {
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
    if (m) url = `http://127.0.0.1:${m[1]}`;
    else if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${out}`);
    } else await Bun.sleep(10);
  }
  return {
    url,
    proc,
    output: () => out,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}
