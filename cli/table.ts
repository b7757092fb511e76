import { escapeHidden } from "../src/text.ts";

/** Prints rows as a left-aligned table with a header, for humans; scripts use --json. */
export function printTable(header: string[], rawRows: string[][], alignRight: number[] = []): void {
  // Names and models come from the database: never let them move the cursor or reorder the line.
  const rows = rawRows.map((r) => r.map(escapeHidden));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (alignRight.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
