/** @jsxImportSource preact */
// The customer portal: sign in with your API key and see what the gateway knows about it — limits and what
// is left, budget and balance with the reset time, spend by day and by model, recent requests — and, for a
// key of a customer account, the account's totals. The key stays in this tab's sessionStorage.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Card, Table } from "../../dashboard/ui/table.tsx";
import { StackedChart } from "../../dashboard/ui/chart.tsx";
import { usd } from "../../dashboard/ui/api.ts";
import { call, KEY, money, type Json } from "./api.ts";
import { SignIn } from "../../dashboard/ui/sign-in.tsx";

const DAY = 86_400_000;
const when = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 16) + " UTC" : "never");

/** Limits of the key or of its customer: each with what is left now. */
function Limits({ v, id }: { v: Json; id: string }) {
  return (
    <div class="cards" id={id}>
      <Card id={`${id}-budget`} label={`Budget (${v.budget_period})`} value={v.budget_usd === null ? "none" : `${money(v.spent_usd)} / ${money(v.budget_usd)}`} />
      <Card id={`${id}-remaining`} label="Left this period" value={v.remaining_usd === null ? "—" : money(v.remaining_usd)} />
      <Card id={`${id}-resets`} label="Budget resets" value={v.budget_resets_at === null ? "never" : when(v.budget_resets_at)} />
      <Card id={`${id}-rpm`} label="Requests / minute" value={v.rate_limit_per_minute === null ? "unlimited" : String(v.rate_limit_per_minute)} />
      <Card id={`${id}-tpm`} label="Tokens left this minute" value={v.tpm_limit === null ? "unlimited" : `${v.tokens_remaining_this_minute} of ${v.tpm_limit}`} />
      <Card id={`${id}-parallel`} label="In flight" value={v.max_parallel === null ? String(v.in_flight) : `${v.in_flight} of ${v.max_parallel}`} />
    </div>
  );
}

function Portal({ onOut }: { onOut: () => void }) {
  const [state, setState] = useState<Json>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const from = new Date(Date.now() - 29 * DAY).toISOString().slice(0, 10);
    Promise.all([call("/v1/key"), call(`/v1/usage?group_by=day&from=${from}`), call(`/v1/usage?group_by=model&from=${from}`), call("/v1/usage/requests?limit=20")]).then(
      ([key, byDay, byModel, requests]) => {
        const days = Array.from({ length: 30 }, (_, i) => new Date(Date.parse(from) + i * DAY).toISOString().slice(0, 10));
        const cost = new Map<string, number>(byDay.rows.map((r: Json) => [r.day, (r.cost_nano_usd ?? 0) / 1e9]));
        setState({ key, days, values: days.map((d) => cost.get(d) ?? 0), byModel, requests: requests.data });
      },
      (e) => setError((e as Error).message),
    );
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!state) return <p>Loading…</p>;
  const { key } = state;
  return (
    <div>
      <header>
        <strong>API usage</strong>
        <span id="key-name">{key.name}</span>
        <button onClick={onOut}>Sign out</button>
      </header>
      <main>
        <h3>This key</h3>
        <Limits v={key} id="key" />
        {key.expires_at && <p id="key-expires">This key expires {when(key.expires_at)}.</p>}
        {key.customer && (
          <section id="customer">
            <h3>Account {key.customer.name} (all its keys)</h3>
            <Limits v={key.customer} id="customer" />
            {key.customer.balance_usd !== null && (
              <p>
                Prepaid balance: <strong id="balance">{money(key.customer.balance_usd)}</strong>
              </p>
            )}
          </section>
        )}
        <section>
          <strong>Spend per day (last 30 days)</strong>
          <StackedChart id="spend-chart" days={state.days} series={[{ name: key.name, values: state.values }]} />
        </section>
        <section>
          <strong>By model (last 30 days)</strong>
          <Table
            id="models-table"
            head={["Model", "Requests", "Tokens in", "Tokens out", "Cost"]}
            numeric={[1, 2, 3, 4]}
            rows={state.byModel.rows.map((r: Json) => [r.model, r.requests, r.prompt_tokens, r.completion_tokens, usd(r.cost_usd)])}
          />
        </section>
        <section>
          <strong>Recent requests</strong>
          <Table
            id="requests-table"
            head={["Time", "Model", "Status", "Tokens in/out", "Cost"]}
            numeric={[2, 3, 4]}
            rows={state.requests.map((r: Json) => [r.created_at.replace("T", " ").slice(0, 19), r.model_requested, r.upstream_status, `${r.prompt_tokens}/${r.completion_tokens}`, usd(r.cost_usd)])}
          />
        </section>
      </main>
    </div>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(sessionStorage.getItem(KEY)));
  if (!signedIn) return <SignIn title="Your API usage" label="API key" field="key" autoComplete="off" storageKey={KEY} check={() => call("/v1/key")} onIn={() => setSignedIn(true)} />;
  return (
    <Portal
      onOut={() => {
        sessionStorage.removeItem(KEY);
        setSignedIn(false);
      }}
    />
  );
}

render(<App />, document.getElementById("app")!);
