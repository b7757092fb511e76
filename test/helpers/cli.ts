import { copyFileSync, existsSync, linkSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Path of the compiled binary; default: run cli/index.ts from source. */
  binary?: string;
}

/** An environment without the developer's GATEWAY_* / provider settings leaking in. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(GATEWAY_|OPENAI_|PORT$|HOST$)/.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

export function cliCommand(binary?: string): string[] {
  return binary ? [binary] : [process.execPath, "run", join(ROOT, "cli/index.ts")];
}

/** Runs the CLI as a real process and collects its output and exit code. */
export async function runCli(args: string[], opts: RunOptions): Promise<CliResult> {
  const proc = Bun.spawn([...cliCommand(opts.binary), ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

let built: Promise<string> | undefined;

/** Builds dist/gateway once per test run and returns its path. */
export function buildBinary(): Promise<string> {
  built ??= (async () => {
    const proc = Bun.spawn([process.execPath, "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`build failed: ${err}`);
    return join(ROOT, "dist/gateway");
  })();
  return built;
}

/** Puts only the compiled binary into `dir`, as an operator would (a hard link when it can: 110 MB each). */
export async function binaryIn(dir: string): Promise<string> {
  const target = join(dir, "gateway");
  const built = await buildBinary();
  if (existsSync(target)) return target; // a restart in the same dir (never copy onto a link of itself)
  try {
    linkSync(built, target);
  } catch {
    copyFileSync(built, target);
  }
  return target;
}

/** Parses the four lines create-key prints. */
export function parseCreated(stdout: string): { id: string; key: string; rateLimit: number } {
  const id = /Key ID: (\S+)/.exec(stdout)?.[1];
  const key = /Plain key \(save this securely\): (\S+)/.exec(stdout)?.[1];
  const rate = /Rate limit: (\d+) requests\/minute/.exec(stdout)?.[1];
  if (!id || !key || !rate) throw new Error(`unexpected create-key output: ${stdout}`);
  return { id, key, rateLimit: Number(rate) };
}
