import { ensureDebianPackage } from "./debian.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Debian's Chromium for browser tests (never a browser download). */
export function ensureChromium(): string {
  return ensureDebianPackage(CHROMIUM, "chromium", "the browser tests");
}
