/** @jsxImportSource preact */
// The keys page (create, disable, edit, rotate, delete) and one key's page (limits, spend, requests).
import { useEffect, useState } from "preact/hooks";
import { api, cents, type Json } from "./api.ts";
import { StackedChart } from "./chart.tsx";
import { Requests } from "./requests-page.tsx";
import { useAdminList } from "./admin-list.ts";

function BudgetBar({ k }: { k: Json }) {
  if (!k.budget_usd) return <span>none</span>;
  const share = Math.min(1, Number(k.spent_usd ?? 0) / Number(k.budget_usd));
  return (
    <span title={`$${k.spent_usd} of $${k.budget_usd} (${k.budget_period})`}>
      <span class={`bar${share >= 1 ? " full" : ""}`}>
        <span style={{ width: `${share * 100}%` }} />
      </span>{" "}
      {cents(Number(k.spent_usd))} / {cents(Number(k.budget_usd))}
    </span>
  );
}

export function Keys() {
  const { items: keys, message, act } = useAdminList("/admin/keys");
  const [created, setCreated] = useState<Json>(null);
  const create = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Json = { name: form.get("name"), rate_limit_per_minute: Number(form.get("rate") || 60) };
    if (form.get("budget")) body.budget_usd = String(form.get("budget"));
    if (form.get("share") === "on") body.share = "24h";
    void act(api("/admin/keys", { method: "POST", body: JSON.stringify(body) }).then(setCreated), `Created ${body.name}.`);
  };
  const edit = (k: Json) => {
    const rate = prompt(`Requests per minute for ${k.name}`, String(k.rate_limit_per_minute));
    if (rate === null) return;
    const budget = prompt(`Budget in US dollars per ${k.budget_period} (empty: none)`, k.budget_usd ?? "");
    if (budget === null) return;
    void act(api(`/admin/keys/${k.id}`, { method: "PATCH", body: JSON.stringify({ rate_limit_per_minute: Number(rate), budget_usd: budget === "" ? null : budget }) }), `Updated ${k.name}.`);
  };
  return (
    <div>
      <section>
        <form class="row admin-only" id="create-key" onSubmit={create}>
          <label>
            Name
            <input name="name" required placeholder="customer-acme" />
          </label>
          <label>
            Requests / minute
            <input name="rate" type="number" min="1" defaultValue="60" />
          </label>
          <label>
            Budget (USD / month)
            <input name="budget" placeholder="none" />
          </label>
          <label title="The customer opens the link once to see the key; you never see it">
            <input name="share" type="checkbox" /> One-time link (24 h)
          </label>
          <button class="primary" type="submit">
            Create key
          </button>
        </form>
        {created?.claim_url && (
          <div class="newkey" id="new-key-link">
            Link for <strong>{created.name}</strong> — give it to the customer; it shows the key once, until {created.claim_expires_at}: <code id="new-key-url">{created.claim_url}</code>{" "}
            <button onClick={() => void navigator.clipboard?.writeText(created.claim_url)}>Copy</button> <button onClick={() => setCreated(null)}>Done</button>
          </div>
        )}
        {created?.key && (
          <div class="newkey" id="new-key">
            Key for <strong>{created.name}</strong> — shown only now: <code id="new-key-value">{created.key}</code>{" "}
            <button onClick={() => void navigator.clipboard?.writeText(created.key)}>Copy</button> <button onClick={() => setCreated(null)}>Done</button>
          </div>
        )}
        {message && <p id="keys-message">{message}</p>}
      </section>
      <section>
        <table id="keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th title="The key value's last 4 characters">Hint</th>
              <th>Customer</th>
              <th>Status</th>
              <th class="num">Req/min</th>
              <th>Budget</th>
              <th class="num">Spent</th>
              <th>Last used</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr data-key={k.name}>
                <td>
                  <a href={`#/keys/${k.id}`}>{k.name}</a>
                </td>
                <td class="hint">{k.hint ?? "-"}</td>
                <td class="customer">{k.customer ?? "—"}</td>
                <td class={k.is_active ? "status-active" : "status-disabled"}>{k.is_active ? "active" : "disabled"}</td>
                <td class="num">{k.rate_limit_per_minute}</td>
                <td>
                  <BudgetBar k={k} />
                </td>
                <td class="num" title={k.budget_usd ? `this ${k.budget_period}` : "this month"}>
                  {cents(Number(k.spent_usd))}
                </td>
                <td class="last-used">{k.last_used_at ? k.last_used_at.slice(0, 16).replace("T", " ") : "never"}</td>
                <td>{k.expires_at ? k.expires_at.slice(0, 16).replace("T", " ") : "never"}</td>
                <td class="admin-only">
                  <button class="toggle" onClick={() => void act(api(`/admin/keys/${k.id}`, { method: "PATCH", body: JSON.stringify({ is_active: !k.is_active }) }), `${k.is_active ? "Disabled" : "Enabled"} ${k.name}.`)}>
                    {k.is_active ? "Disable" : "Enable"}
                  </button>{" "}
                  <button onClick={() => edit(k)}>Edit</button>{" "}
                  <button onClick={() => confirm(`Rotate ${k.name}? The old key stops working.`) && void act(api(`/admin/keys/${k.id}/rotate`, { method: "POST", body: "{}" }).then(setCreated), `Rotated ${k.name}.`)}>Rotate</button>{" "}
                  <button onClick={() => confirm(`Delete ${k.name}? Its usage stays.`) && void act(api(`/admin/keys/${k.id}`, { method: "DELETE" }), `Deleted ${k.name}.`)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

export function KeyDetail({ id }: { id: string }) {
  const [key, setKey] = useState<Json>(null);
  const [days, setDays] = useState<Json>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    Promise.all([api(`/admin/keys/${id}`), api(`/admin/usage?group_by=day&key_id=${encodeURIComponent(id)}&from=${from}`)]).then(([k, u]) => {
      setKey(k);
      // Every day of the 30, with or without requests: the axis spans the range, not the days that had spend.
      const all = Array.from({ length: 30 }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10));
      const cost = new Map<string, number>(u.rows.map((r: Json) => [r.day, (r.cost_nano_usd ?? 0) / 1e9]));
      setDays({ days: all, values: all.map((d) => cost.get(d) ?? 0) });
    }, (e) => setError(e.message));
  }, [id]);
  if (error) return <p class="error">{error}</p>;
  if (!key || !days) return <p>Loading…</p>;
  return (
    <div>
      <section id="key-limits">
        <h2>{key.name}</h2>
        <p>
          {key.is_active ? "Active" : "Disabled"} · {key.rate_limit_per_minute} requests/min · tokens/min {key.tpm_limit ?? "unlimited"} · parallel {key.max_parallel ?? "unlimited"} · budget <BudgetBar k={key} /> · models{" "}
          {key.allowed_models?.join(", ") ?? "all"} · addresses {key.allowed_ips?.join(", ") ?? "any"} · output cap {key.max_output_tokens ?? "none"} · expires{" "}
          {key.expires_at ?? "never"} · hint {key.hint ?? "-"} · customer {key.customer ?? "none"}
        </p>
      </section>
      <section>
        <strong>Spend per day</strong>
        <StackedChart id="key-chart" days={days.days} series={[{ name: key.name, values: days.values }]} />
      </section>
      <Requests keyId={id} />
    </div>
  );
}

