/** The field of chat's output cap: OpenAI's reasoning models (o-series, gpt-5) accept only max_completion_tokens. */
export function chatCapField(model: string): "max_tokens" | "max_completion_tokens" {
  return /^(o\d|gpt-5)/.test(model) ? "max_completion_tokens" : "max_tokens";
}
