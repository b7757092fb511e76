/** @jsxImportSource preact */
// Request records, filtered and paged.
import { useEffect, useState } from "preact/hooks";
import { api, usd, type Json } from "./api.ts";
import { Table } from "./table.tsx";

export function Requests({ keyId }: { keyId?: string }) {
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [rows, setRows] = useState<Json[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState("");
  const query = (more?: string) => {
    const q = new URLSearchParams({ limit: "50" });
    for (const [k, v] of Object.entries({ ...filters, ...(keyId ? { key_id: keyId } : {}) })) if (v) q.set(k, v);
    if (!filters.from) q.set("from", new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10));
    if (more) q.set("cursor", more);
    return api(`/admin/usage/requests?${q}`).then((page) => {
      setRows((old) => (more ? [...old, ...page.data] : page.data));
      setCursor(page.next_cursor);
      setError("");
    }, (e) => setError(e.message));
  };
  useEffect(() => void query(), [filters, keyId]);
  const set = (name: string) => (e: Event) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value });
  const [keys, setKeys] = useState<Json[]>([]);
  useEffect(() => void (!keyId && api("/admin/keys").then(setKeys, () => {})), [keyId]);
  return (
    <section>
      <div class="row" id="request-filters">
        {!keyId && (
          <label>
            Key
            <select name="key_id" onChange={set("key_id")}>
              <option value="">any</option>
              {keys.map((k) => (
                <option value={k.id}>{k.name}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          Model
          <input name="model" onChange={set("model")} />
        </label>
        <label>
          Status
          <select name="status" onChange={set("status")}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
          </select>
        </label>
        <label>
          From
          <input name="from" type="date" onChange={set("from")} />
        </label>
        <label>
          To
          <input name="to" type="date" onChange={set("to")} />
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      <Table
        id="requests-table"
        head={["Time", "Key", "Model", "Status", "Tokens in/out", "Cost", "Latency"]}
        numeric={[3, 4, 5, 6]}
        rows={rows.map((r) => [r.created_at.replace("T", " ").slice(0, 19), r.key_name ?? r.key_id, r.model_requested, r.upstream_status, `${r.prompt_tokens}/${r.completion_tokens}`, usd(r.cost_usd), `${r.latency_ms} ms`])}
      />
      {cursor && (
        <button id="more" onClick={() => void query(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

