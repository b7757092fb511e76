// The OpenAPI document validates as OpenAPI 3, and Swagger UI renders from the compiled binary with the network blocked.
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const CHROMIUM = "/usr/bin/chromium";
const upstream = startFakeUpstream();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: "docs-admin-token-0123456789" } });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

describe("OpenAPI document", () => {
  test("validates as OpenAPI 3 and describes every public route, both bearer schemes and the error shape", async () => {
    const res = await fetch(`${gw.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, any>;
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys(doc.paths).sort()).toEqual(
      ["/admin/keys", "/admin/keys/{id}", "/admin/usage", "/admin/usage/requests", "/health", "/v1/chat/completions", "/v1/models", "/v1/usage"].sort(),
    );
    expect(doc.components.securitySchemes).toEqual({
      customerKey: expect.objectContaining({ type: "http", scheme: "bearer" }),
      adminToken: expect.objectContaining({ type: "http", scheme: "bearer" }),
    });
    const chat = doc.paths["/v1/chat/completions"].post;
    expect(chat.security).toEqual([{ customerKey: [] }]);
    expect(chat.requestBody.content["application/json"].example.model).toBeTruthy();
    const err = chat.responses["401"].content["application/json"].schema;
    expect(JSON.stringify(err)).toContain('"param"');
    expect(doc.paths["/admin/keys"].post.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths["/admin/keys"].post.requestBody.content["application/json"].schema.properties.rate_limit_per_minute).toBeTruthy();
  });
});

describe("Swagger UI in a browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    expect(existsSync(CHROMIUM)).toBe(true); // .ci/run installs Debian's chromium
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  test("renders offline from the binary's embedded assets, and 'Try it out' calls the gateway", async () => {
    const { key } = await gw.createKey("docs-user", 100);
    const page = await browser.newPage();
    const blocked: string[] = [];
    const origin = new URL(gw.url).origin;
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(origin)) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    await page.goto(`${gw.url}/docs`);
    await page.waitForSelector(".opblock-summary-path", { timeout: 20_000 });
    const paths = await page.locator(".opblock-summary-path").allTextContents();
    for (const p of ["/v1/chat/completions", "/v1/models", "/v1/usage", "/admin/keys", "/admin/usage"]) expect(paths.map((x) => x.replace(/\u200b/g, ""))).toContain(p);
    const shot = join(gw.dir, "swagger-ui.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // Authorize with the customer key, then Try it out on chat completions.
    await page.click("button.authorize");
    const customerInput = page.locator(".auth-container").filter({ hasText: "customerKey" }).locator("input");
    await customerInput.fill(key);
    await page.locator(".auth-container").filter({ hasText: "customerKey" }).locator("button.modal-btn.authorize").click();
    await page.locator("button.close-modal").first().click();
    const op = page.locator(".opblock-post").filter({ hasText: "/v1/chat/completions" }).first();
    await op.locator(".opblock-summary").click();
    await op.getByRole("button", { name: "Try it out" }).click();
    await op.getByRole("button", { name: "Execute" }).click();
    const status = op.locator(".live-responses-table tr.response .response-col_status").first();
    await status.waitFor({ timeout: 20_000 });
    expect((await status.textContent())?.trim()).toBe("200");
    expect(await op.locator(".live-responses-table tr.response .response-col_description").first().textContent()).toContain("Hello from the fake upstream");
    expect(upstream.received.at(-1)!.headers.authorization).not.toContain(key);
    expect(blocked).toEqual([]); // nothing was even attempted outside the gateway
    await page.close();
  });
});
