// The one-time key hand-over's page: GET /claim/{token} shows a page (404 for no such link, 410 once used
// or expired) whose button POSTs to the same path; the POST shows the key once and uses the link up.
// Revealing is a POST so that a chat app fetching the link for a preview cannot use it up.
import { Elysia, t } from "elysia";
import { PAGE_HEADERS } from "../http/page-headers.ts";
import { reportOf } from "../observe/report.ts";
import type { KeyService } from "./service.ts";

const STYLE = `body{font:16px system-ui,sans-serif;background:#f4f6fa;color:#1c2230;margin:0}main{max-width:640px;margin:10vh auto;background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:24px 32px}
code{display:block;font-size:15px;background:#f4f6fa;border:1px solid #dde2ea;border-radius:4px;padding:10px;word-break:break-all;margin:12px 0}button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #3358d4;background:#3358d4;color:#fff;cursor:pointer}.error{color:#c4322f}`;

function page(body: string, status: number): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>Your API key</title><style>${STYLE}</style></head><body><main>${body}</main><script src="/claim.js"></script></body></html>`;
  return new Response(html, { status, headers: { ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

const OPEN = `<h1>Your API key</h1><p>This link shows your key <strong>once</strong>. Have a password manager or secret store ready: nobody can show it to you again.</p>
<button id="reveal">Show my key</button><div id="shown" hidden><p id="for"></p><code id="key"></code><button id="copy">Copy</button> <span id="copied"></span><p><strong>Save it now.</strong> This page will not show it again.</p></div><p id="error" class="error" hidden></p>`;

const GONE = {
  claimed: "This key link was already opened: a key is shown only once. Ask the operator for a new one.",
  expired: "This key link has expired. Ask the operator for a new one.",
  unknown: "No such key link.",
};

const SCRIPT = `const token = location.pathname.split("/").pop();
const el = (id) => document.getElementById(id);
const reveal = el("reveal");
if (reveal) reveal.addEventListener("click", async () => {
  reveal.disabled = true;
  const res = await fetch("/claim/" + token, { method: "POST" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { el("error").textContent = (body.error && body.error.message) || "HTTP " + res.status; el("error").hidden = false; return; }
  reveal.hidden = true;
  el("for").textContent = "The key of '" + body.name + "':";
  el("key").textContent = body.key;
  el("shown").hidden = false;
});
const copy = el("copy");
if (copy) copy.addEventListener("click", async () => { await navigator.clipboard.writeText(el("key").textContent); el("copied").textContent = "Copied."; });`;

export function claimRoutes({ keys, retryWrites: write }: { keys: KeyService; retryWrites: <T>(fn: () => T | Promise<T>) => Promise<T> }) {
  return new Elysia({ name: "claim-routes" })
    .get("/claim.js", () => new Response(SCRIPT, { headers: { ...PAGE_HEADERS, "content-type": "text/javascript; charset=utf-8" } }), { detail: { hide: true } })
    .get(
      "/claim/:token",
      async ({ params }) => {
        const state = await keys.shareState(params.token);
        if (state === "open") return page(OPEN, 200);
        return page(`<h1>Your API key</h1><p class="error" id="gone">${GONE[state]}</p>`, state === "unknown" ? 404 : 410);
      },
      { params: t.Object({ token: t.String() }), detail: { hide: true } },
    )
    .post(
      "/claim/:token",
      async ({ params, request }) => {
        const claimed = await write(() => keys.claim(params.token, reportOf(request)?.client ?? null));
        return new Response(JSON.stringify(claimed), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
      },
      { params: t.Object({ token: t.String() }), detail: { hide: true } },
    );
}
