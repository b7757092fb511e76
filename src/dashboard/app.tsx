/** @jsxImportSource preact */
// The dashboard: a Preact app over the admin API, with uPlot charts. Bundled into the binary at build
// time (Bun's HTML import); the admin token lives in this tab's sessionStorage and is sent as a Bearer
// header, never in a URL or a cookie.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const TOKEN = "gateway-admin-token";
type Json = any;

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api(path: string, init: RequestInit = {}): Promise<Json> {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ""}`, "content-type": "application/json", ...init.headers } });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (res.status === 401) throw new ApiFailure(401, "That admin token was refused. Use the gateway's GATEWAY_ADMIN_TOKEN.");
  if (res.status === 404 && path.startsWith("/admin/overview")) throw new ApiFailure(404, "The admin API is off: start the gateway with GATEWAY_ADMIN_TOKEN set.");
  if (!res.ok) throw new ApiFailure(res.status, body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

const usd = (n: number | null | undefined) => (n == null ? "—" : `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`);
const COLORS = ["#3358d4", "#e8843c", "#1f8a4c", "#c4322f", "#8a4fd1", "#2a9bb7", "#b38b00", "#6b7385"];

/** A stacked area chart of daily series (each drawn on top of the ones before). */
function StackedChart({ days, series, id }: { days: string[]; series: { name: string; values: number[] }[]; id: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const xs = days.map((d) => Date.parse(d) / 1000);
    const stacked: number[][] = [];
    series.forEach((s, i) => stacked.push(s.values.map((v, j) => v + (i > 0 ? stacked[i - 1]![j]! : 0))));
    const plot = new uPlot(
      {
        width: el.current.clientWidth || 800,
        height: 260,
        series: [{}, ...series.map((s, i) => ({ label: s.name, stroke: COLORS[i % COLORS.length], fill: `${COLORS[i % COLORS.length]}55`, value: (_: unknown, v: number) => usd(v) }))],
        axes: [{}, { values: (_: unknown, ticks: number[]) => ticks.map((v) => usd(v)) }],
      },
      [xs, ...stacked] as uPlot.AlignedData,
      el.current,
    );
    el.current.dataset.total = String(series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0));
    return () => plot.destroy();
  }, [days, series]);
  return <div id={id} ref={el} />;
}

function Overview() {
  const [data, setData] = useState<Json>(null);
  const [by, setBy] = useState<"model" | "key">("model");
  const [error, setError] = useState("");
  useEffect(() => void api("/admin/overview").then(setData, (e) => setError(e.message)), []);
  if (error) return <p class="error">{error}</p>;
  if (!data) return <p>Loading…</p>;
  const series = (by === "model" ? data.by_model : data.by_key).map((s: Json) => ({ name: s.name, values: s.cost_usd }));
  const errorRate = data.today.requests ? (100 * data.today.errors) / data.today.requests : 0;
  return (
    <div>
      <div class="cards">
        <Card id="spend-today" label="Spend today" value={usd(data.today.cost_usd)} />
        <Card id="requests-today" label="Requests today" value={String(data.today.requests)} />
        <Card id="error-rate" label="Errors today" value={`${errorRate.toFixed(1)}%`} />
        <Card id="spend-month" label="Spend this month" value={usd(data.month.cost_usd)} />
        <Card id="requests-month" label="Requests this month" value={String(data.month.requests)} />
      </div>
      <section>
        <div class="row">
          <strong>Spend per day, last 30 days</strong>
          <label>
            Stacked by
            <select id="stack-by" value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value as "model" | "key")}>
              <option value="model">model</option>
              <option value="key">key</option>
            </select>
          </label>
        </div>
        <StackedChart id="spend-chart" days={data.days} series={series} />
      </section>
      <div class="two">
        <section>
          <strong>Top keys (30 days)</strong>
          <Table id="top-keys" head={["Key", "Requests", "Spend"]} rows={data.top_keys.map((k: Json) => [<a href={`#/keys/${k.id}`}>{k.name}</a>, k.requests, usd(k.cost_usd)])} />
        </section>
        <section>
          <strong>Top models (30 days)</strong>
          <Table id="top-models" head={["Model", "Requests", "Spend"]} rows={data.top_models.map((m: Json) => [m.name, m.requests, usd(m.cost_usd)])} />
        </section>
      </div>
      <section>
        <strong>Refusals since start, by reason</strong>
        <Table id="refusals" head={["Reason", "Count"]} rows={Object.entries(data.refusals).map(([r, n]) => [r, n as number])} />
      </section>
    </div>
  );
}

function Card({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div class="card">
      <div class="label">{label}</div>
      <div class="value" id={id}>
        {value}
      </div>
    </div>
  );
}

function Table({ id, head, rows }: { id: string; head: string[]; rows: unknown[][] }) {
  return (
    <table id={id}>
      <thead>
        <tr>{head.map((h, i) => <th class={i > 0 ? "num" : ""}>{h}</th>)}</tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={head.length}>None yet.</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr>{r.map((c, i) => <td class={i > 0 && typeof c !== "object" ? "num" : ""}>{c as string}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

function BudgetBar({ k }: { k: Json }) {
  if (!k.budget_usd) return <span>—</span>;
  const share = Math.min(1, Number(k.spent_usd ?? 0) / Number(k.budget_usd));
  return (
    <span title={`$${k.spent_usd} of $${k.budget_usd} (${k.budget_period})`}>
      <span class={`bar${share >= 1 ? " full" : ""}`}>
        <span style={{ width: `${share * 100}%` }} />
      </span>{" "}
      ${k.spent_usd} / ${k.budget_usd}
    </span>
  );
}

function Keys() {
  const [keys, setKeys] = useState<Json[]>([]);
  const [created, setCreated] = useState<Json>(null);
  const [message, setMessage] = useState("");
  const load = () => api("/admin/keys").then(setKeys, (e) => setMessage(e.message));
  useEffect(() => void load(), []);
  const act = async (work: Promise<unknown>, done: string) => {
    try {
      await work;
      setMessage(done);
      await load();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Json = { name: form.get("name"), rate_limit_per_minute: Number(form.get("rate") || 60) };
    if (form.get("budget")) body.budget_usd = String(form.get("budget"));
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
        <form class="row" id="create-key" onSubmit={create}>
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
          <button class="primary" type="submit">
            Create key
          </button>
        </form>
        {created && (
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
              <th>Status</th>
              <th class="num">Req/min</th>
              <th>Budget</th>
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
                <td class={k.is_active ? "status-active" : "status-disabled"}>{k.is_active ? "active" : "disabled"}</td>
                <td class="num">{k.rate_limit_per_minute}</td>
                <td>
                  <BudgetBar k={k} />
                </td>
                <td>{k.expires_at ? k.expires_at.slice(0, 16).replace("T", " ") : "never"}</td>
                <td>
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

function KeyDetail({ id }: { id: string }) {
  const [key, setKey] = useState<Json>(null);
  const [days, setDays] = useState<Json>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    Promise.all([api(`/admin/keys/${id}`), api(`/admin/usage?group_by=day&key_id=${encodeURIComponent(id)}&from=${from}`)]).then(([k, u]) => {
      setKey(k);
      setDays(u);
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
          {key.allowed_models?.join(", ") ?? "all"} · expires {key.expires_at ?? "never"}
        </p>
      </section>
      <section>
        <strong>Spend per day</strong>
        <StackedChart id="key-chart" days={days.rows.map((r: Json) => r.day)} series={[{ name: key.name, values: days.rows.map((r: Json) => (r.cost_nano_usd ?? 0) / 1e9) }]} />
      </section>
      <Requests keyId={id} />
    </div>
  );
}

function Requests({ keyId }: { keyId?: string }) {
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
  return (
    <section>
      <div class="row" id="request-filters">
        {!keyId && (
          <label>
            Key id
            <input name="key_id" onChange={set("key_id")} />
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

function SignIn({ onIn, message }: { onIn: () => void; message: string }) {
  const [error, setError] = useState(message);
  const submit = async (e: Event) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN, String(new FormData(e.target as HTMLFormElement).get("token") ?? ""));
    try {
      await api("/admin/overview");
      onIn();
    } catch (err) {
      sessionStorage.removeItem(TOKEN);
      setError((err as Error).message);
    }
  };
  return (
    <form class="signin card" id="signin" onSubmit={submit}>
      <h2>Gateway dashboard</h2>
      <label>
        Admin token
        <input name="token" type="password" autoComplete="current-password" required />
      </label>
      <p>
        <button class="primary" type="submit">
          Sign in
        </button>
      </p>
      {error && (
        <p class="error" id="signin-error">
          {error}
        </p>
      )}
    </form>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(sessionStorage.getItem(TOKEN)));
  const [route, setRoute] = useState(location.hash || "#/overview");
  useEffect(() => {
    const on = () => setRoute(location.hash || "#/overview");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  if (!signedIn) return <SignIn onIn={() => setSignedIn(true)} message="" />;
  const keyId = /^#\/keys\/(.+)$/.exec(route)?.[1];
  const link = (hash: string, text: string) => (
    <a href={hash} class={route.startsWith(hash) ? "active" : ""}>
      {text}
    </a>
  );
  return (
    <div>
      <header>
        <strong>Gateway</strong>
        {link("#/overview", "Overview")}
        {link("#/keys", "Keys")}
        {link("#/requests", "Requests")}
        <button
          onClick={() => {
            sessionStorage.removeItem(TOKEN);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{keyId ? <KeyDetail id={decodeURIComponent(keyId)} /> : route.startsWith("#/keys") ? <Keys /> : route.startsWith("#/requests") ? <Requests /> : <Overview />}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
