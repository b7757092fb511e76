/** @jsxImportSource preact */
// The first page: spend and requests today and this month, 30 days of spend stacked by model, key or customer, top
// keys and models, refusals.
import { useEffect, useState } from "preact/hooks";
import { api, spend, type Json } from "./api.ts";
import { StackedChart } from "./chart.tsx";
import { Card, Table } from "./table.tsx";

/** Failure kinds as the API names them, and as the page does. */
const KINDS = [
  ["refused", "refused by the gateway"],
  ["upstream_error", "provider error"],
  ["unreachable", "provider unreachable"],
  ["timeout", "provider timeout"],
] as const;

export function Overview() {
  const [data, setData] = useState<Json>(null);
  const [by, setBy] = useState<"model" | "key" | "customer">("model");
  const [error, setError] = useState("");
  useEffect(() => void api("/admin/overview").then(setData, (e) => setError(e.message)), []);
  if (error) return <p class="error">{error}</p>;
  if (!data) return <p>Loading…</p>;
  const series = (by === "model" ? data.by_model : by === "key" ? data.by_key : data.by_customer).map((s: Json) => ({ name: s.name, values: s.cost_usd }));
  const errorRate = data.today.requests ? (100 * data.today.errors) / data.today.requests : 0;
  return (
    <div>
      <div class="cards">
        <Card id="spend-today" label="Spend today" value={spend(data.today.cost_usd, data.today.unpriced, data.today.requests)} />
        <Card id="requests-today" label="Requests today" value={String(data.today.requests)} />
        <Card id="error-rate" label="Provider errors today" value={`${errorRate.toFixed(1)}%`} />
        <Card id="failed-today" label="Failed today" value={String(KINDS.reduce((n, [k]) => n + data.failures.today[k], 0))} />
        <Card id="spend-month" label="Spend this month" value={spend(data.month.cost_usd, data.month.unpriced, data.month.requests)} />
        <Card id="requests-month" label="Requests this month" value={String(data.month.requests)} />
        {data.month.saved_usd > 0 ? <Card id="saved-month" label="Saved by the cache this month" value={`$${data.month.saved_usd.toFixed(2)}`} /> : null}
      </div>
      <section>
        <div class="row">
          <strong>Spend per day, last 30 days</strong>
          <label>
            Stacked by
            <select id="stack-by" value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value as "model" | "key" | "customer")}>
              <option value="model">model</option>
              <option value="key">key</option>
              <option value="customer">customer</option>
            </select>
          </label>
        </div>
        <StackedChart id="spend-chart" days={data.days} series={series} />
      </section>
      <div class="two">
        <section>
          <strong>Top keys (30 days)</strong>
          <Table id="top-keys" head={["Key", "Requests", "Spend"]} numeric={[1, 2]} rows={data.top_keys.map((k: Json) => [<a href={`#/keys/${k.id}`}>{k.name}</a>, k.requests, spend(k.cost_usd, k.unpriced, k.requests)])} />
        </section>
        <section>
          <strong>Top models (30 days)</strong>
          <Table id="top-models" head={["Model", "Requests", "Spend"]} numeric={[1, 2]} rows={data.top_models.map((m: Json) => [m.name, m.requests, spend(m.cost_usd, m.unpriced, m.requests)])} />
        </section>
      </div>
      <section>
        <strong>Failures, last 24 hours (every instance)</strong>
        <StackedChart id="failures-chart" days={data.failures.hours} series={KINDS.map(([k, name]) => ({ name, values: data.failures.by_kind[k] }))} unit="count" />
        <Table id="failures-today" head={["Kind", "Today"]} numeric={[1]} rows={KINDS.map(([k, name]) => [name, data.failures.today[k]])} />
      </section>
      <section>
        <strong>Refusals since start, by reason</strong>
        <Table id="refusals" head={["Reason", "Count"]} numeric={[1]} rows={Object.entries(data.refusals).map(([r, n]) => [r, n as number])} />
      </section>
    </div>
  );
}

