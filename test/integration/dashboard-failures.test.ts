// The dashboard's second look, in Debian's Chromium against the compiled binary: failures of every kind
// over time (refusals and unreachable providers leave no usage row), unpriced spend shown as such, money
// totals in cents, numbers right and text left, distinct colours for many models, a key's chart over its
// 30 days, and the request log filtered by a key's name.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { launchChromium, offlinePage, screenshot } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(120_000);

declare const document: { querySelectorAll(s: string): ArrayLike<any> };
declare const getComputedStyle: (el: unknown) => { textAlign: string; borderColor: string };

const ADMIN = "dashboard-failures-admin-token-0123";
const MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5", "gpt-5-mini"];
const upstream = startFakeUpstream();
const failing = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ error: { message: "boom", type: "server_error", param: null, code: null } }, { status: 500 }) });
const hanging = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: () => new Promise<Response>(() => {}) });
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  const provider = (name: string, url: string, models: string) => `[[providers]]\nname = "${name}"\nbase_url = "${url}"\napi_key_env = "FAKE_KEY"\nmodels = [${models}]\n`;
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { FAKE_KEY: PROVIDER_KEY, GATEWAY_ADMIN_TOKEN: ADMIN, GATEWAY_UPSTREAM_TIMEOUT_MS: "1500", GATEWAY_MAX_RETRIES: "0" },
    configToml: [
      provider("down", "http://127.0.0.1:9/v1", `"down-*"`),
      provider("failing", `http://127.0.0.1:${failing.port}/v1`, `"failing-*"`),
      provider("hanging", `http://127.0.0.1:${hanging.port}/v1`, `"hanging-*"`),
      provider("fake", upstream.url, `"*"`),
    ].join("\n"),
  });
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gw.stop();
  await upstream.stop();
  failing.stop(true);
  hanging.stop(true);
});

const shot = (page: Page, name: string) => screenshot(page, gw.dir, name);

describe("dashboard: failures, unpriced spend, axes, colours, alignment, key names", () => {
  test("every kind of failure is counted over time; unpriced spend is '—' with a count; totals in cents; twelve models in twelve colours", async () => {
    const alice = await gw.createKey("alice");
    const bob = await gw.createKey("bob");
    const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const ask = (key: string, model: string) => sdk(key).chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).then(() => 200, (e: { status?: number }) => e.status);
    for (const model of MODELS) expect(await ask(alice.key, model)).toBe(200);
    expect(await ask(bob.key, "house-unpriced")).toBe(200);
    expect(await ask(bob.key, "house-unpriced")).toBe(200);
    for (let i = 0; i < 3; i++) expect(await ask("gw-wrong-key-000000000000000000000", "gpt-4o")).toBe(401);
    expect(await ask(bob.key, "down-model")).toBe(502);
    expect(await ask(bob.key, "failing-model")).toBe(500);
    expect(await ask(bob.key, "hanging-model")).toBe(504);

    // Counts reach the database within seconds (they are added up in memory first).
    const overview = () => fetch(`${gw.url}/admin/overview`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json() as Promise<{ failures: { today: Record<string, number>; by_kind: Record<string, number[]> } }>);
    const deadline = Date.now() + 15_000;
    let failures = (await overview()).failures;
    while (failures.today.timeout === 0 && Date.now() < deadline) {
      await Bun.sleep(200);
      failures = (await overview()).failures;
    }
    expect(failures.today).toEqual({ refused: 3, upstream_error: 1, unreachable: 1, timeout: 1 });
    // In the current hour's bucket (or the one before, should the test straddle the hour).
    expect(failures.by_kind.refused!.slice(-2).reduce((a, b) => a + b, 0)).toBe(3);
    expect(failures.by_kind.refused!.slice(0, -2).every((n) => n === 0)).toBe(true);

    const { page, blocked } = await offlinePage(browser, new URL(gw.url).origin);
    await page.goto(`${gw.url}/dashboard`);
    await page.fill("#signin input[name=token]", ADMIN);
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#failures-chart canvas");
    expect(await page.textContent("#failed-today")).toBe("6");
    expect(await page.textContent("#failures-today")).toContain("provider unreachable1");
    expect(Number(await page.getAttribute("#failures-chart", "data-total"))).toBe(6);
    // Money totals in cents, with the requests that had no price counted beside them, never as $0.
    // (house-unpriced twice; failing-model and hanging-model have no price either)
    expect(await page.textContent("#spend-today")).toMatch(/^\$\d+\.\d\d \+ 4 unpriced$/);
    const unpricedRow = page.locator("#top-models tr", { hasText: "house-unpriced" });
    expect(await unpricedRow.locator("td").nth(2).textContent()).toBe("—");
    // Text left, numbers right.
    const aligns = await page.evaluate(() => Array.from(document.querySelectorAll("#top-models tbody tr:first-child td"), (td) => getComputedStyle(td).textAlign));
    expect(aligns).toEqual(["left", "right", "right"]);
    // Twelve models stacked (the nine, house-unpriced, failing-model, hanging-model): twelve distinct colours.
    const colours = await page.evaluate(() => Array.from(document.querySelectorAll("#spend-chart .u-legend .u-series:not(:first-child) .u-marker"), (m) => getComputedStyle(m).borderColor));
    expect(colours.length).toBe(MODELS.length + 3);
    expect(new Set(colours).size).toBe(colours.length);
    await shot(page, "failures");

    // A key used only today: its chart spans its 30 days (no axis years away), and its name filters requests.
    await page.goto(`${gw.url}/dashboard#/keys/${alice.id}`);
    await page.waitForSelector("#key-chart canvas");
    const axis = (await page.textContent("#key-chart"))!;
    const year = new Date().getUTCFullYear();
    for (const y of axis.match(/\b20\d\d\b/g) ?? []) expect(Math.abs(Number(y) - year)).toBeLessThanOrEqual(1);
    expect(Number(await page.getAttribute("#key-chart", "data-total"))).toBeGreaterThan(0);
    await page.goto(`${gw.url}/dashboard#/requests`);
    await page.waitForSelector("#request-filters select[name=key_id] option:has-text('bob')", { state: "attached" });
    await page.selectOption("#request-filters select[name=key_id]", { label: "bob" });
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll("#requests-table tbody tr"), (r) => r.textContent as string);
      return rows.length > 0 && rows.every((t) => t.includes("bob"));
    });
    const keyCellAlign = await page.evaluate(() => getComputedStyle(document.querySelectorAll("#requests-table tbody tr td")[1]).textAlign);
    expect(keyCellAlign).toBe("left");
    await shot(page, "requests-by-name");
    expect(blocked).toEqual([]);
    await page.close();
  });
});
