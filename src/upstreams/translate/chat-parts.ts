// What the translators from chat share: reading a chat message's parts and a tool call's arguments, the
// refusal of several choices, and turns merged for providers that want roles to alternate.
import { invalidRequest } from "../../errors.ts";

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Text of a chat content value (a string, or parts of which the text ones count). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => (isObj(p) && p.type === "text" && typeof p.text === "string" ? p.text : "")).join("");
}

/** Chat usage from a provider that states uncached input, cache reads and cache writes apart (Anthropic, Bedrock): the prompt counts all three, as OpenAI's does. */
export function usageWithCache(input: unknown, read: unknown, written: unknown, output: unknown): Obj {
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  const prompt = n(input) + n(read) + n(written);
  const completion = n(output);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: n(read), cache_creation_tokens: n(written) } };
}

/** A tool call's JSON arguments as an object (a non-object is wrapped, unparsable text kept). */
export function parseArguments(args: unknown): Obj {
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const v = JSON.parse(args) as unknown;
    return isObj(v) ? v : { value: v };
  } catch {
    return { arguments: args };
  }
}

/** Refuses `n` > 1 for a provider that gives one answer: several choices must not silently shrink to one (each would be billed). */
export function refuseSeveralChoices(body: Obj, why: string): void {
  if (typeof body.n === "number" && body.n > 1) throw invalidRequest(`'n' greater than 1 is not supported for this model (${why}).`, "n", "unsupported_value");
}

/** Turns for a provider that wants roles to alternate: a turn of the same role as the one before is merged into it; an empty one is dropped. */
export function alternatingTurns<R extends string, K extends string>(key: K): { turns: ({ role: R } & Record<K, Obj[]>)[]; push(role: R, items: Obj[]): void } {
  type Turn = { role: R } & Record<K, Obj[]>;
  const turns: Turn[] = [];
  const push = (role: R, items: Obj[]) => {
    if (items.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last[key].push(...items);
    else turns.push({ role, [key]: items } as Turn);
  };
  return { turns, push };
}
