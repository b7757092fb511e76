import { ApiError } from "../errors.ts";
import { hasHiddenCharacters } from "../text.ts";
import { parseJsonObject } from "./proxy.ts";

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

function invalid(message: string, param: string | null, code = "invalid_request"): ApiError {
  return new ApiError(400, message, "invalid_request_error", code, param);
}

/** Validates what the gateway itself relies on; every other field is the upstream's business. */
export function parseChatRequest(text: string, defaultModel?: string): ChatRequest {
  const b = parseJsonObject(text);
  const modelDefaulted = b.model === undefined && defaultModel !== undefined;
  if (b.model === undefined && defaultModel === undefined) {
    throw invalid("Missing required parameter: 'model'. This gateway has no default model (its operator can set GATEWAY_DEFAULT_MODEL or default_model in the config file).", "model", "missing_required_parameter");
  }
  const model = modelDefaulted ? defaultModel! : b.model;
  if (typeof model !== "string" || model.trim() === "") throw invalid("Invalid type for 'model': expected a non-empty string.", "model", "invalid_type");
  if (model.length > 256) throw invalid("'model' is too long (at most 256 characters).", "model", "invalid_value");
  if (hasHiddenCharacters(model)) throw invalid("'model' must not contain control or invisible formatting characters.", "model", "invalid_value");
  if (b.messages === undefined) throw invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
  if (!Array.isArray(b.messages)) throw invalid("Invalid type for 'messages': expected an array.", "messages", "invalid_type");
  if (b.messages.length === 0) throw invalid("'messages' must contain at least one message.", "messages", "invalid_value");
  for (const [i, m] of b.messages.entries()) {
    if (!m || typeof m !== "object" || Array.isArray(m)) throw invalid(`Invalid type for 'messages[${i}]': expected an object.`, `messages[${i}]`, "invalid_type");
    if (typeof (m as { role?: unknown }).role !== "string") throw invalid(`Invalid type for 'messages[${i}].role': expected a string.`, `messages[${i}].role`, "invalid_type");
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== "boolean") throw invalid("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type");
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== "object" || Array.isArray(so))) throw invalid("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type");
  const stream = b.stream === true;
  return { body: b, model, modelDefaulted, stream, wantsUsage: stream && (so as { include_usage?: unknown } | null | undefined)?.include_usage === true };
}
