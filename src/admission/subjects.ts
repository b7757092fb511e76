// Whose counters a request uses: its key's, and — for a key of a customer — the customer's limits and,
// for a prepaid customer, its balance (a budget over all time whose limit is the sum of its credits).
// Each is a subject of the CounterStore with an id of its own; a customer's ids carry its members
// version, so a key joining or leaving starts its counters again from the database.
const CUSTOMER = /^[cp]:([^:]+):\d+$/;

/** The customer a subject id belongs to (its spend is its keys' spend), or null for a key's own id. */
export function customerOfSubject(id: string): string | null {
  return CUSTOMER.exec(id)?.[1] ?? null;
}

/** The subject of a customer's own limits. */
export function customerSubject(customerId: string, version: number): string {
  return `c:${customerId}:${version}`;
}

/** The subject of a prepaid customer's balance. */
export function balanceSubject(customerId: string, version: number): string {
  return `p:${customerId}:${version}`;
}
