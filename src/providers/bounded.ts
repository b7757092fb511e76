// What makes a reservation a true bound on the wire: the output cap the gateway sends when the request set
// none, the refusal of tools the provider bills per call (a budgeted key could not be bounded), and the
// row charged at the bound when the upstream reports more than the request could use.
import { chargeAtBound } from "../admission/bound.ts";
import type { AdmissionTicket } from "../admission/admit.ts";
import type { VerifiedKey } from "../keys/verifier.ts";
import { ApiError } from "../errors.ts";
import type { UsageRecord } from "../usage/recorder.ts";

/** The body (and its text) with the output cap that was reserved, when the request set none. */
export function withOutputCap(body: Record<string, unknown>, text: string, ticket: AdmissionTicket, field: string): { body: Record<string, unknown>; text: string } {
  if (ticket.outputCap === null) return { body, text };
  const capped = { ...body, [field]: ticket.outputCap };
  return { body: capped, text: JSON.stringify(capped) };
}

// Tools the provider runs and bills per call or per use (searches, code sandboxes, remote MCP servers
// whose tool lists add unseen input): nothing in the request bounds them.
const CHAT_SERVER_FIELDS = ["web_search_options"];
const RESPONSES_CLIENT_TOOLS = new Set(["function", "custom", "local_shell", "shell", "apply_patch", "computer_use_preview", "computer"]);
const MESSAGES_SERVER_TOOL = /^(web_search|web_fetch|code_execution|tool_search|mcp)/;

/** The server-side tools a request asks for, by name; empty when there are none. */
export function serverTools(endpoint: "chat" | "responses" | "messages", body: Record<string, unknown>): string[] {
  const tools = Array.isArray(body.tools) ? (body.tools as unknown[]) : [];
  const typeOf = (t: unknown) => (t && typeof t === "object" && typeof (t as { type?: unknown }).type === "string" ? (t as { type: string }).type : undefined);
  if (endpoint === "chat") return CHAT_SERVER_FIELDS.filter((f) => body[f] !== undefined && body[f] !== null);
  if (endpoint === "responses") return tools.map(typeOf).filter((t): t is string => t !== undefined && !RESPONSES_CLIENT_TOOLS.has(t));
  const found = tools.map(typeOf).filter((t): t is string => t !== undefined && MESSAGES_SERVER_TOOL.test(t));
  if (body.mcp_servers !== undefined) found.push("mcp_servers");
  return found;
}

/** A key with a budget may not use tools billed per call: its spend could not be bounded. */
export function refuseUnboundedTools(key: VerifiedKey, endpoint: "chat" | "responses" | "messages", body: Record<string, unknown>): void {
  if (key.limits.budgetNanoUsd === null) return;
  const tools = serverTools(endpoint, body);
  if (tools.length === 0) return;
  throw new ApiError(
    403,
    `This API key has a budget, and the provider bills ${tools.join(", ")} per call beyond tokens: the gateway cannot bound what such a request costs. Use function tools, or a key without a budget.`,
    "invalid_request_error",
    "tool_not_bounded",
    "tools",
  );
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
