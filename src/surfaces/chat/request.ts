import { parseJsonObject, readStreamFlag, requireModel } from "../request.ts";
import { invalidRequest as invalid } from "../../errors.ts";

export interface ChatRequest {
  /** The customer's JSON body; forwarded as sent apart from `model` and `stream_options`. */
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** The customer asked for the usage chunk itself (stream_options.include_usage). */
  wantsUsage: boolean;
  /** The body named no model: `model` is the gateway's default, not in the body. */
  modelDefaulted: boolean;
}

/** Validates what the gateway itself relies on; every other field is the upstream's business. */
export function parseChatRequest(text: string, defaultModel?: string): ChatRequest {
  const b = parseJsonObject(text);
  const model = requireModel(b.model, { defaultModel });
  if (b.messages === undefined) throw invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
  if (!Array.isArray(b.messages)) throw invalid("Invalid type for 'messages': expected an array.", "messages", "invalid_type");
  if (b.messages.length === 0) throw invalid("'messages' must contain at least one message.", "messages", "invalid_value");
  for (const [i, m] of b.messages.entries()) {
    if (!m || typeof m !== "object" || Array.isArray(m)) throw invalid(`Invalid type for 'messages[${i}]': expected an object.`, `messages[${i}]`, "invalid_type");
    if (typeof (m as { role?: unknown }).role !== "string") throw invalid(`Invalid type for 'messages[${i}].role': expected a string.`, `messages[${i}].role`, "invalid_type");
  }
  const stream = readStreamFlag(b.stream);
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== "object" || Array.isArray(so))) throw invalid("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type");
  return { body: b, model, modelDefaulted: b.model === undefined, stream, wantsUsage: stream && (so as { include_usage?: unknown } | null | undefined)?.include_usage === true };
}
