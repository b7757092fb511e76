/** @jsxImportSource preact */
// A uPlot chart of daily series, stacked.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cents, colorOf } from "./api.ts";

/**
 * A stacked area chart of series over time (each drawn on top of the ones before), over exactly its
 * times (days, or hours), in US dollars or counts.
 */
export function StackedChart({ days, series, id, unit = "usd" }: { days: string[]; series: { name: string; values: number[] }[]; id: string; unit?: "usd" | "count" }) {
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
        // The x range is the days shown (half a day either side of a single one), never uPlot's guess.
        scales: { x: { time: true, range: () => (xs.length > 1 ? [xs[0]!, xs.at(-1)!] : [xs[0]! - 43_200, xs[0]! + 43_200]) } },
        series: [{}, ...series.map((s, i) => ({ label: s.name, ...colorOf(i), value: (_: unknown, v: number | null) => (v == null ? "—" : unit === "usd" ? cents(v) : String(Math.round(v))) }))],
        // Tick labels as precise as the ticks' step ($0.005 apart: three decimals), so no two read the same.
        axes: [{}, { size: 72, values: (_: unknown, ticks: number[]) => ticks.map((v) => (unit === "usd" ? `$${v.toFixed(decimals(ticks))}` : String(v))) }],
      },
      [xs, ...stacked] as uPlot.AlignedData,
      el.current,
    );
    el.current.dataset.total = String(series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0));
    return () => plot.destroy();
  }, [days, series, unit]);
  return <div id={id} ref={el} />;
}

/** Decimals that tell ticks apart: two for cents, more when they are closer than a cent. */
function decimals(ticks: number[]): number {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  return Math.min(8, Math.max(2, Math.ceil(-Math.log10(step || 1))));
}
