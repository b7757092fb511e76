import { chmodSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.ts";

/**
 * Returns the lookup secret: the configured one, or the content of `file`, creating that file
 * (mode 0600) on first use -- only when `mayCreate` (the database has no keys yet: a new secret for a
 * database with keys would silently match none of them). Creation is atomic (write a temp file, then link), so two processes
 * starting together agree on one secret.
 */
export function loadSecret(configured: string | undefined, file: string, { mayCreate = true }: { mayCreate?: boolean } = {}): string {
  if (configured !== undefined) {
    if (configured.length < 16) throw new UserError("GATEWAY_SECRET must be at least 16 characters");
    return configured;
  }
  const existing = readSecretFile(file);
  if (existing !== undefined) return existing;
  if (!mayCreate) {
    throw new UserError(`secret file ${file} is missing, but this database already has keys digested with a secret: restore the file from your backup (or set GATEWAY_SECRET)`);
  }
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  } catch (err) {
    throw new UserError(`cannot create secret file ${file}: ${(err as Error).message}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
  const created = readSecretFile(file);
  if (created === undefined) throw new UserError(`secret file ${file} is empty`);
  return created;
}

function readSecretFile(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`cannot read secret file ${file}: ${(err as Error).message}`);
  }
  if (text.length < 16) throw new UserError(`secret file ${file} is too short or damaged`);
  return text;
}

/** HMAC-SHA256 of the presented key: finds its row in O(1) without letting the database alone confirm guesses. */
export function lookupDigest(secret: string, plainKey: string): string {
  return new Bun.CryptoHasher("sha256", secret).update(plainKey).digest("hex");
}
