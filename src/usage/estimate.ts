// Token estimates for requests whose upstream reported no usage (or that the client abandoned), for
// token-per-minute admission and for count_tokens: counted by token-count.ts, off the event loop.
import { countTextTokens } from "./token-count.ts";

/** OpenAI's chat format adds ~3 tokens per message and 3 to prime the reply. */
export async function estimatePromptTokens(body: Record<string, unknown>): Promise<number> {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const texts: string[] = [];
  for (const m of messages) if (m && typeof m === "object") texts.push(textOf(m as Record<string, unknown>));
  if (body.tools !== undefined) texts.push(JSON.stringify(body.tools));
  return 3 + 3 * messages.length + (await countTextTokens(texts));
}

export function estimateCompletionTokens(text: string): Promise<number> {
  return countTextTokens([text]);
}

function textOf(message: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof message.role === "string") parts.push(message.role);
  if (typeof message.name === "string") parts.push(message.name);
  const content = message.content;
  if (typeof content === "string") parts.push(content);
  else if (Array.isArray(content)) {
    for (const p of content) if (p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string") parts.push((p as { text: string }).text);
  }
  if (message.tool_calls !== undefined) parts.push(JSON.stringify(message.tool_calls));
  return parts.join("\n");
}
