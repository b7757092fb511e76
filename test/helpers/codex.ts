// Runs the real Codex CLI (@openai/codex's native binary for this platform) with `codex exec --json`
// against a gateway, from an empty CODEX_HOME whose config names the gateway as its model provider.
import { readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "./tmp.ts";

export interface CodexRun {
  code: number;
  ms: number;
  /** The JSON lines Codex printed (thread, turn, item and error events). */
  events: { type: string; message?: string; item?: { type: string; text?: string }; error?: { message: string } }[];
}

export function codexBinary(): string {
  const vendor = join(dirname(require.resolve(`@openai/codex-${process.platform}-${process.arch}/package.json`)), "vendor");
  const [triple] = readdirSync(vendor);
  return join(vendor, triple!, "bin", "codex");
}

export async function runCodex(prompt: string, opts: { baseUrl: string; key: string; model?: string; timeoutMs?: number }): Promise<CodexRun> {
  const home = tempDir();
  const codexHome = join(home, ".codex");
  mkdirSync(codexHome);
  mkdirSync(join(home, "work"));
  writeFileSync(
    join(codexHome, "config.toml"),
    `model_provider = "gateway"\n\n[model_providers.gateway]\nname = "gateway"\nbase_url = "${opts.baseUrl}/v1"\nenv_key = "GATEWAY_KEY"\nwire_api = "responses"\n\n[analytics]\nenabled = false\n`,
  );
  const started = Date.now();
  const proc = Bun.spawn([codexBinary(), "exec", "--skip-git-repo-check", "--json", ...(opts.model ? ["-m", opts.model] : []), prompt], {
    cwd: join(home, "work"),
    env: { PATH: process.env.PATH!, HOME: home, CODEX_HOME: codexHome, GATEWAY_KEY: opts.key },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(), opts.timeoutMs ?? 120_000);
  const [stdout, , code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const events = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as CodexRun["events"][number]);
  return { code, ms: Date.now() - started, events };
}
