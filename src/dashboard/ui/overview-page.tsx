/** @jsxImportSource preact */
// The first page: spend and requests today and this month, 30 days of spend stacked by model or key, top
// keys and models, refusals.
import { useEffect, useState } from "preact/hooks";
import { api, usd, type Json } from "./api.ts";
import { StackedChart } from "./chart.tsx";
import { Card, Table } from "./table.tsx";

export function Overview() {
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

