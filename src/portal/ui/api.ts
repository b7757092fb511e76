// The portal's calls: the customer's own API key (this tab's sessionStorage, sent as a Bearer header) to the
// customer routes a key may call anyway (/v1/key, /v1/usage); never an admin route.
export const KEY = "gateway-portal-key";
export type Json = any;

export async function call(path: string): Promise<Json> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ""}` } });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (res.status === 401) throw new Error("That API key was not accepted. Check that you pasted the whole key, as your provider gave it to you.");
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** "$12.30" to the cent, "$0.0042" below it; "—" for none. */
export const money = (usd: string | number | null | undefined) => {
  if (usd === null || usd === undefined) return "—";
  const n = Number(usd);
  return n !== 0 && Math.abs(n) < 0.01 ? `$${n.toFixed(6).replace(/0+$/, "")}` : `$${n.toFixed(2)}`;
};
