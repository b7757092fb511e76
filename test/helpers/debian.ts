import { existsSync } from "node:fs";

/**
 * A program from Debian's packages that some tests need (never a download from elsewhere). Installed
 * here when missing, so that `bun test` passes on a fresh machine on its own; without root or apt-get
 * it says what to run.
 */
export function ensureDebianPackage(binary: string, pkg: string, why: string): string {
  ensureInstalled(pkg, why, binary, () => existsSync(binary));
  return binary;
}

/** Installs `pkg` unless `present()` (the program the tests run, e.g. initdb, not a client that ships apart). */
export function ensureInstalled(pkg: string, why: string, what: string, present: () => boolean): void {
  if (present()) return;
  const canInstall = process.getuid?.() === 0 && Bun.which("apt-get") !== null;
  if (!canInstall) throw new Error(`${why} need Debian's ${pkg} (${what}): run 'sudo apt-get install -y ${pkg}'`);
  console.warn(`installing Debian's ${pkg} for ${why} (once per machine) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  Bun.spawnSync(["apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "inherit" });
  const install = Bun.spawnSync(["apt-get", "install", "-y", "-qq", pkg], { env, stdout: "ignore", stderr: "inherit" });
  if (install.exitCode !== 0 || !present()) throw new Error(`apt-get install ${pkg} failed (see above)`);
}
