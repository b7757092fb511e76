import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Debian's Chromium for browser tests (never a browser download). Installed here when missing, so that
 * `bun test` passes on a fresh machine on its own; without root or apt-get it says what to run.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const canInstall = process.getuid?.() === 0 && Bun.which("apt-get") !== null;
  if (!canInstall) throw new Error(`the browser tests need Debian's Chromium at ${CHROMIUM}: run 'sudo apt-get install -y chromium'`);
  console.warn("installing Debian's chromium for the browser tests (once per machine) ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  Bun.spawnSync(["apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "inherit" });
  const install = Bun.spawnSync(["apt-get", "install", "-y", "-qq", "chromium"], { env, stdout: "ignore", stderr: "inherit" });
  if (install.exitCode !== 0 || !existsSync(CHROMIUM)) throw new Error("apt-get install chromium failed (see above)");
  return CHROMIUM;
}
