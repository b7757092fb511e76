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

export function Table({ id, head, rows }: { id: string; head: string[]; rows: unknown[][] }) {
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

