// What makes a reservation a true bound on the wire: the output cap the gateway sends when the request set
// none (tools billed per call: server-tools.ts), and the row charged at the bound when the upstream reports
// more than the request could use.
import { chargeAtBound } from "../admission/bound.ts";
import type { AdmissionTicket } from "../admission/admit.ts";
import type { UsageRecord } from "../usage/record.ts";

const CAP_FIELDS = ["max_completion_tokens", "max_tokens", "max_output_tokens"];

/**
 * The body (and its text) with the output cap that was reserved: in the request's own cap fields when it
 * set any (lowered to the cap), else in the surface's `field`.
 */
export function withOutputCap(body: Record<string, unknown>, text: string, ticket: AdmissionTicket, field: string): { body: Record<string, unknown>; text: string } {
  const cap = ticket.outputCap;
  if (cap === null) return { body, text };
  const own = CAP_FIELDS.filter((f) => typeof body[f] === "number");
  const capped = { ...body };
  if (own.length === 0) capped[field] = cap;
  for (const f of own) if ((body[f] as number) > cap) capped[f] = cap;
  return { body: capped, text: JSON.stringify(capped) };
}

/**
 * Charges the row at its request's bound when the upstream reported more than the request could use:
 * the tokens stay as reported (the operator can dispute them with the provider), the cost is the bound's.
 * Returns the tokens that count against tokens per minute.
 */
export function chargeRow(row: UsageRecord, ticket: AdmissionTicket, log: (line: string) => void): number {
  const tokens = row.promptTokens + row.completionTokens;
  const charge = chargeAtBound(tokens, row.costNanoUsd, ticket.bound);
  if (!charge.overBound) return tokens;
  const b = ticket.bound!;
  log(
    `[gateway] usage_over_bound: request ${row.requestId}: provider '${row.provider}' reported ${row.promptTokens} prompt + ${row.completionTokens} completion tokens (cost ${row.costNanoUsd ?? "unpriced"} nano-USD); the request could use at most ${b.tokens} tokens, ${b.costNanoUsd} nano-USD: charged at the bound`,
  );
  row.overBound = true;
  row.costNanoUsd = charge.costNanoUsd;
  return charge.tokens;
}
