// Token estimates for requests whose upstream reported no usage (or that the client abandoned).
// gpt-tokenizer (o200k_base, the GPT-4o family encoding) is loaded on first use so start-up stays fast.
let tokenizer: Promise<{ countTokens: (text: string) => number }> | undefined;

async function count(text: string): Promise<number> {
  if (text === "") return 0;
  tokenizer ??= import("gpt-tokenizer");
  return (await tokenizer).countTokens(text);
}

/** OpenAI's chat format adds ~3 tokens per message and 3 to prime the reply. */
export async function estimatePromptTokens(body: Record<string, unknown>): Promise<number> {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let tokens = 3;
  for (const m of messages) {
    tokens += 3;
    if (m && typeof m === "object") tokens += await count(textOf(m as Record<string, unknown>));
  }
  if (body.tools !== undefined) tokens += await count(JSON.stringify(body.tools));
  return tokens;
}

export function estimateCompletionTokens(text: string): Promise<number> {
  return count(text);
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
