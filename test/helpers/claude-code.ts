// Runs the real Claude Code CLI (@anthropic-ai/claude-code's native binary for this platform) in print mode
// against a gateway, from an empty home directory, with telemetry, updates and error reports off.
import { dirname, join } from "node:path";
import { tempDir } from "./tmp.ts";

export interface ClaudeRun {
  code: number;
  ms: number;
  /** The --output-format json result. */
  result: { is_error: boolean; result: string; total_cost_usd: number; api_error_status: number | null; modelUsage: Record<string, { costUSD: number }> };
  stderr: string;
}

export function claudeBinary(): string {
  const pkg = `@anthropic-ai/claude-code-${process.platform}-${process.arch}`;
  return join(dirname(require.resolve(`${pkg}/package.json`)), "claude");
}

export async function runClaude(prompt: string, opts: { baseUrl: string; key: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ClaudeRun> {
  const home = tempDir();
  const started = Date.now();
  const proc = Bun.spawn([claudeBinary(), "-p", prompt, "--output-format", "json"], {
    cwd: home,
    env: {
      PATH: process.env.PATH!,
      HOME: home,
      ANTHROPIC_BASE_URL: opts.baseUrl,
      ANTHROPIC_API_KEY: opts.key,
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_ERROR_REPORTING: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      ...opts.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(), opts.timeoutMs ?? 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  let result: ClaudeRun["result"];
  try {
    result = JSON.parse(stdout);
  } catch {
    throw new Error(`claude printed no JSON result (exit ${code}):\n${stdout.slice(0, 2000)}\n${stderr.slice(0, 2000)}`);
  }
  return { code, ms: Date.now() - started, result, stderr };
}
