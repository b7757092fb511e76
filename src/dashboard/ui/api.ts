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
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ""}`, "content-type": "application/json", ...init.headers } });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (res.status === 401) throw new ApiFailure(401, "That admin token was refused. Use the gateway's GATEWAY_ADMIN_TOKEN.");
  if (res.status === 404 && path.startsWith("/admin/overview")) throw new ApiFailure(404, "The admin API is off: start the gateway with GATEWAY_ADMIN_TOKEN set.");
  if (!res.ok) throw new ApiFailure(res.status, body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

export const usd = (n: number | null | undefined) => (n == null ? "—" : `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`);
export const COLORS = ["#3358d4", "#e8843c", "#1f8a4c", "#c4322f", "#8a4fd1", "#2a9bb7", "#b38b00", "#6b7385"];

