// The dashboard's calls to the admin API (the token from this tab's sessionStorage, as a Bearer header)
// and its number formats.
export const TOKEN = "gateway-admin-token";
export type Json = any;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api(path: string, init: RequestInit = {}): Promise<Json> {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ""}`, "content-type": "application/json", "x-gateway-client": "dashboard", ...init.headers } });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (res.status === 401) throw new ApiFailure(401, "That admin token was refused. Use the gateway's GATEWAY_ADMIN_TOKEN.");
  if (res.status === 404 && path.startsWith("/admin/overview")) throw new ApiFailure(404, "The admin API is off: start the gateway with GATEWAY_ADMIN_TOKEN set.");
  if (!res.ok) throw new ApiFailure(res.status, body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** One request's cost: exact to the micro-dollar ("$0.000345"); "—" without a price. */
export const usd = (n: number | null | undefined) => (n == null ? "—" : `$${n.toFixed(6).replace(/(\.\d\d\d*?)0+$/, "$1")}`);

/** A total, to the cent ("$12.30"; "<$0.01" for a few requests' worth); "—" without a price. */
export const cents = (n: number | null | undefined) => (n == null ? "—" : n > 0 && n < 0.005 ? "<$0.01" : `$${n.toFixed(2)}`);

/** A total over requests some of which had no price: "—" when none had one, else the priced sum and how many did not. */
export function spend(costUsd: number, unpriced: number, requests: number): string {
  if (requests > 0 && unpriced >= requests) return "—";
  return unpriced > 0 ? `${cents(costUsd)} + ${unpriced} unpriced` : cents(costUsd);
}

const PALETTE = ["#3358d4", "#e8843c", "#1f8a4c", "#c4322f", "#8a4fd1", "#2a9bb7", "#b38b00", "#6b7385"];

/** Series colours: a palette, then hues a golden angle apart (distinct for any number of series). */
export function colorOf(i: number): { stroke: string; fill: string } {
  if (i < PALETTE.length) return { stroke: PALETTE[i]!, fill: `${PALETTE[i]}55` };
  const hue = Math.round((i * 137.508) % 360);
  const light = 35 + ((i * 7) % 3) * 10;
  return { stroke: `hsl(${hue} 60% ${light}%)`, fill: `hsl(${hue} 60% ${light}% / 0.33)` };
}

