// Tools the provider runs itself and bills per call (searches, code sandboxes, remote MCP servers): the
// request's tokens do not bound them. Web search is bounded by the API's own cap on calls (the Responses
// API's max_tool_calls, a Messages web search tool's max_uses), which the gateway sets when the request
// has none; every call is priced (the catalog's per-search price) and may add up to a context window of
// input. Any other such tool is refused for a key with a budget.
import type { VerifiedKey } from "../keys/verifier.ts";
import { ApiError } from "../errors.ts";

const CHAT_SERVER_FIELDS = ["web_search_options"];
const RESPONSES_CLIENT_TOOLS = new Set(["function", "custom", "local_shell", "shell", "apply_patch", "computer_use_preview", "computer"]);
const MESSAGES_SERVER_TOOL = /^(web_search|web_fetch|code_execution|tool_search|mcp)/;
const RESPONSES_SEARCH = /^web_search(_preview)?(_\d{4}_\d{2}_\d{2})?$/;
const MESSAGES_SEARCH = /^web_search_\d{8}$/;

type Endpoint = "chat" | "responses" | "messages";
type Obj = Record<string, unknown>;

const typeOf = (t: unknown) => (t && typeof t === "object" && typeof (t as { type?: unknown }).type === "string" ? (t as { type: string }).type : undefined);

/** A Responses tool the client runs: a function-like tool, or a namespace of them (Codex's sub-agent tools). */
function clientTool(t: unknown): boolean {
  const type = typeOf(t);
  if (type === "namespace") {
    const inner = (t as { tools?: unknown }).tools;
    return Array.isArray(inner) && inner.every(clientTool);
  }
  return type !== undefined && RESPONSES_CLIENT_TOOLS.has(type);
}

/** The server-side tools a request asks for, by name; empty when there are none. */
export function serverTools(endpoint: Endpoint, body: Obj): string[] {
  const tools = Array.isArray(body.tools) ? (body.tools as unknown[]) : [];
  if (endpoint === "chat") return CHAT_SERVER_FIELDS.filter((f) => body[f] !== undefined && body[f] !== null);
  if (endpoint === "responses") return tools.filter((t) => !clientTool(t)).map((t) => typeOf(t) ?? "unknown");
  const found = tools.map(typeOf).filter((t): t is string => t !== undefined && MESSAGES_SERVER_TOOL.test(t));
  if (body.mcp_servers !== undefined) found.push("mcp_servers");
  return found;
}

export interface ToolCalls {
  /** Web searches the request may make at most (0: none, or the key has no limit they count against). */
  calls: number;
  /** The body with the caps the gateway added, when it added any. */
  body?: Obj;
}

const cap = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined);

/**
 * For a key with a budget or a token limit: how many per-call-billed tool calls the request can make, with
 * the cap the gateway sends when the request sets none; a key with a budget is refused any such tool the
 * gateway cannot bound.
 */
export function boundServerTools(key: VerifiedKey, endpoint: Endpoint, body: Obj, defaultCalls: number): ToolCalls {
  const { budgetNanoUsd, tpmLimit } = key.limits;
  if (budgetNanoUsd === null && tpmLimit === null) return { calls: 0 };
  const tools = serverTools(endpoint, body);
  if (tools.length === 0) return { calls: 0 };
  const search = endpoint === "responses" ? RESPONSES_SEARCH : endpoint === "messages" ? MESSAGES_SEARCH : undefined;
  if (!search || !tools.every((t) => search.test(t))) {
    if (budgetNanoUsd === null) return { calls: 0 };
    const others = [...new Set(tools.filter((t) => !search?.test(t)))];
    throw new ApiError(
      403,
      `This API key has a budget, and the provider bills ${others.join(", ")} per call beyond tokens: the gateway cannot bound what such a request costs. Use function tools or web search, or a key without a budget.`,
      "invalid_request_error",
      "tool_not_bounded",
      "tools",
    );
  }
  if (endpoint === "responses") {
    const asked = cap(body.max_tool_calls);
    return asked !== undefined ? { calls: asked } : { calls: defaultCalls, body: { ...body, max_tool_calls: defaultCalls } };
  }
  let calls = 0;
  let changed = false;
  const tools2 = (body.tools as unknown[]).map((t) => {
    if (!search.test(typeOf(t) ?? "")) return t;
    const uses = cap((t as Obj).max_uses);
    calls += uses ?? defaultCalls;
    if (uses !== undefined) return t;
    changed = true;
    return { ...(t as Obj), max_uses: defaultCalls };
  });
  return changed ? { calls, body: { ...body, tools: tools2 } } : { calls };
}
