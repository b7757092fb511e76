/** @jsxImportSource preact */
// The dashboard's cards and tables.

export function Card({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div class="card">
      <div class="label">{label}</div>
      <div class="value" id={id}>
        {value}
      </div>
    </div>
  );
}

/** A table; the `numeric` columns (counts, money, durations) are right-aligned, text stays left. */
export function Table({ id, head, rows, numeric = [] }: { id: string; head: string[]; rows: unknown[][]; numeric?: number[] }) {
  return (
    <table id={id}>
      <thead>
        <tr>{head.map((h, i) => <th class={numeric.includes(i) ? "num" : ""}>{h}</th>)}</tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={head.length}>None yet.</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr>{r.map((c, i) => <td class={numeric.includes(i) ? "num" : ""}>{c as string}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

