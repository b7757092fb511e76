/** @jsxImportSource preact */
// A uPlot chart of daily series, stacked.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { COLORS, usd } from "./api.ts";

/** A stacked area chart of daily series (each drawn on top of the ones before). */
export function StackedChart({ days, series, id }: { days: string[]; series: { name: string; values: number[] }[]; id: string }) {
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

