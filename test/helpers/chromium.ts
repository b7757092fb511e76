import { expect } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ensureDebianPackage } from "./debian.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Debian's Chromium for browser tests (never a browser download). */
export function ensureChromium(): string {
  return ensureDebianPackage(CHROMIUM, "chromium", "the browser tests");
}

/** Headless Debian Chromium with nothing of its own going to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page that can reach `origin` and nothing else; `blocked` lists what it tried to reach beyond it. */
export async function offlinePage(browser: Browser, origin: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; blocked: string[] }> {
  const page = await browser.newPage({ viewport });
  const blocked: string[] = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  return { page, blocked };
}

/** A full-page screenshot in `dir` (and in DASHBOARD_SCREENSHOTS, when set: how the README's picture is made). */
export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  const path = join(dir, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(10_000);
  if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: join(process.env.DASHBOARD_SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });
}
