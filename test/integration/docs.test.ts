// The OpenAPI document validates as OpenAPI 3, and Swagger UI renders from the compiled binary with the network blocked.
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium, offlinePage } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: "docs-admin-token-0123456789-abcdef" } });
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
      ["/admin/audit", "/admin/customers", "/admin/customers/{id}", "/admin/customers/{id}/credits", "/admin/keys", "/admin/keys/{id}", "/admin/keys/{id}/rotate", "/admin/whoami", "/admin/overview", "/admin/usage", "/admin/usage/requests", "/health", "/v1/chat/completions", "/v1/embeddings", "/v1/key", "/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/v1/models/{model}", "/v1/responses", "/v1/responses/{id}", "/v1/usage", "/v1/usage/requests"].sort(),
    );
    expect(doc.components.securitySchemes).toEqual({
      customerKey: expect.objectContaining({ type: "http", scheme: "bearer" }),
      adminToken: expect.objectContaining({ type: "http", scheme: "bearer" }),
      anthropicKey: expect.objectContaining({ type: "apiKey", in: "header", name: "x-api-key" }),
    });
    // The Messages API documents Anthropic's error shape, as it answers.
    const messages = doc.paths["/v1/messages"].post;
    expect(messages.security).toEqual([{ customerKey: [] }, { anthropicKey: [] }]);
    expect(messages.responses["429"].content["application/json"].schema.example).toEqual({ type: "error", error: { type: "rate_limit_error", message: expect.any(String) } });
    const chat = doc.paths["/v1/chat/completions"].post;
    expect(chat.security).toEqual([{ customerKey: [] }]);
    expect(chat.requestBody.content["application/json"].example.model).toBeTruthy();
    const err = chat.responses["401"].content["application/json"].schema;
    expect(JSON.stringify(err)).toContain('"param"');
    expect(doc.paths["/admin/keys"].post.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths["/admin/keys"].post.requestBody.content["application/json"].schema.properties.rate_limit_per_minute).toBeTruthy();
  });

  test("every error status shows its own real example, in the shape the gateway answers", async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as Record<string, any>;
    const example = (op: any, status: string) => op.responses[status].content["application/json"].schema.example.error;
    const chat = doc.paths["/v1/chat/completions"].post;
    const codes: Record<string, string> = {
      "400": "missing_required_parameter", "401": "invalid_api_key", "403": "api_key_disabled", "404": "model_not_found", "408": "request_timeout",
      "413": "request_too_large", "429": "rate_limit_exceeded", "502": "upstream_unavailable", "503": "usage_not_recorded", "504": "upstream_timeout",
    };
    for (const [status, code] of Object.entries(codes)) expect({ status, code: example(chat, status).code }).toEqual({ status, code });
    expect(example(chat, "429").type).toBe("requests");
    expect(example(chat, "404").param).toBe("model");
    const admin = doc.paths["/admin/keys"].post;
    expect(example(admin, "401").code).toBe("invalid_admin_token");
    expect(example(admin, "409").code).toBe("conflict");
    // The real answer for one of them has exactly the documented shape.
    const real = (await (await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer nobody-has-this-key" }, body: "{}" })).json()) as any;
    expect(Object.keys(real.error).sort()).toEqual(Object.keys(example(chat, "401")).sort());
    expect(real.error.code).toBe(example(chat, "401").code);
  });

  test("'/' leads to the docs; without an admin token /admin is neither served nor documented", async () => {
    const root = await fetch(`${gw.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/docs");
    const plain = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    try {
      const doc = (await (await fetch(`${plain.url}/docs/json`)).json()) as Record<string, any>;
      expect(Object.keys(doc.paths).filter((p) => p.startsWith("/admin"))).toEqual([]);
      expect(Object.keys(doc.components.securitySchemes)).toEqual(["customerKey", "anthropicKey"]);
      expect(doc.paths["/v1/chat/completions"]).toBeTruthy();
    } finally {
      await plain.stop();
    }
  });
});

describe("Swagger UI in a browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 600_000); // a first run on a fresh machine installs Chromium
  afterAll(async () => {
    await browser?.close();
  });

  test("renders offline from the binary's embedded assets, and 'Try it out' calls the gateway", async () => {
    const { key } = await gw.createKey("docs-user", 100);
    const { page, blocked } = await offlinePage(browser, new URL(gw.url).origin);
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
