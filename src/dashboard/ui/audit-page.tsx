/** @jsxImportSource preact */
// The audit log: who changed which key, customer or credit, and what; newest first, paged.
import { useEffect, useState } from "preact/hooks";
import { api, type Json } from "./api.ts";
import { Table } from "./table.tsx";

const shown = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

/** "budget_usd: 10.00 → 20.00, tpm_limit: 1000" (the CLI's line). */
function changes(e: Json): string {
  return Object.entries(e.changes as Record<string, { before: unknown; after: unknown }>)
    .map(([f, c]) => (c.before === null ? `${f}: ${shown(c.after)}` : `${f}: ${shown(c.before)} → ${shown(c.after)}`))
    .join(", ");
}

export function Audit() {
  const [subject, setSubject] = useState("");
  const [entries, setEntries] = useState<Json[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [error, setError] = useState("");
  const load = (more?: number) => {
    const q = new URLSearchParams({ limit: "50" });
    if (subject.trim()) q.set("subject", subject.trim());
    if (more) q.set("before", String(more));
    return api(`/admin/audit?${q}`).then((page) => {
      setEntries((old) => (more ? [...old, ...page.entries] : page.entries));
      setBefore(page.next_before);
      setError("");
    }, (e) => setError(e.message));
  };
  useEffect(() => void load(), [subject]);
  return (
    <section>
      <div class="row">
        <label>
          Key or customer
          <input id="audit-subject" name="subject" placeholder="name or id" onChange={(e) => setSubject((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      <Table
        id="audit-table"
        head={["Time", "By", "Action", "Subject", "Changes"]}
        rows={entries.map((e) => [e.at.replace("T", " ").slice(0, 19), e.actor, e.action, e.subject.name, changes(e)])}
      />
      {before && (
        <button id="more" onClick={() => void load(before)}>
          Load more
        </button>
      )}
    </section>
  );
}
