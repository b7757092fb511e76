/** @jsxImportSource preact */
// The customers page: each customer's limits, spend this period, balance and keys; create one, add
// credits, disable or enable it.
import { api, cents, type Json } from "./api.ts";
import { useAdminList } from "./admin-list.ts";

const limit = (v: number | null) => (v === null ? "—" : String(v));

export function Customers() {
  const { items: customers, message, act } = useAdminList("/admin/customers");
  const create = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Json = { name: form.get("name"), prepaid: form.get("prepaid") === "on" };
    if (form.get("budget")) body.budget_usd = String(form.get("budget"));
    void act(api("/admin/customers", { method: "POST", body: JSON.stringify(body) }), `Created ${body.name}.`);
  };
  const credit = (c: Json) => {
    const amount = prompt(`Credits to add to ${c.name}, in US dollars (negative: an adjustment)`, "50");
    if (!amount) return;
    const note = prompt("Note (an invoice number)", "") ?? "";
    void act(api(`/admin/customers/${c.id}/credits`, { method: "POST", body: JSON.stringify({ amount_usd: amount, ...(note ? { note } : {}) }) }), `Added $${amount} to ${c.name}.`);
  };
  const toggle = (c: Json) => {
    if (c.is_active && !confirm(`Disable ${c.name}? Every one of its keys is refused from the next request on.`)) return;
    void act(api(`/admin/customers/${c.id}`, { method: "PATCH", body: JSON.stringify({ is_active: !c.is_active }) }), `${c.is_active ? "Disabled" : "Enabled"} ${c.name}.`);
  };
  return (
    <div>
      <section>
        <form class="row admin-only" id="create-customer" onSubmit={create}>
          <label>
            Name
            <input name="name" required placeholder="acme-corp" />
          </label>
          <label>
            Budget (USD / month)
            <input name="budget" placeholder="none" />
          </label>
          <label>
            <input name="prepaid" type="checkbox" /> Prepaid
          </label>
          <button class="primary" type="submit">
            Create customer
          </button>
        </form>
        {message && <p id="customers-message">{message}</p>}
      </section>
      <section>
        <table id="customers-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th class="num">Keys</th>
              <th>Limits</th>
              <th>Budget</th>
              <th class="num">Spent</th>
              <th class="num">Balance</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {customers.length === 0 && (
              <tr>
                <td colSpan={8}>No customers yet.</td>
              </tr>
            )}
            {customers.map((c) => (
              <tr data-customer={c.name}>
                <td>{c.name}</td>
                <td class={c.is_active ? "status-active" : "status-disabled"}>{c.is_active ? "active" : "disabled"}</td>
                <td class="num">{c.keys}</td>
                <td>
                  requests/min {limit(c.rate_limit_per_minute)} · tokens/min {limit(c.tpm_limit)} · parallel {limit(c.max_parallel)}
                </td>
                <td>{c.budget_usd ? `${cents(Number(c.budget_usd))} / ${c.budget_period}` : "—"}</td>
                <td class="num" title={c.budget_usd ? `this ${c.budget_period}` : "this month"}>
                  {cents(Number(c.spent_usd))}
                </td>
                <td class="num balance">{c.balance_usd === null ? "—" : `$${c.balance_usd}${c.prepaid ? " prepaid" : ""}`}</td>
                <td class="admin-only">
                  <button class="credit" onClick={() => credit(c)}>
                    Add credits
                  </button>{" "}
                  <button class="toggle" onClick={() => toggle(c)}>
                    {c.is_active ? "Disable" : "Enable"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
