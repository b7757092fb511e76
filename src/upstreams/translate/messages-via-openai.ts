// Anthropic Messages requests served by an OpenAI-compatible chat completions API (what Claude Code
// needs to run on a non-Anthropic model): the request translated to chat, the completion (or its
// chunks) translated back to a message (or message events), usage included.
import { chatCapField } from "./output-cap.ts";
import { anthropicEvent, parseData, type EventStep } from "./sse.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** OpenAI's finish_reason as Anthropic's stop_reason. */
export const STOP_REASON: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", function_call: "tool_use", content_filter: "refusal" };

function blocksText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((b) => (isObj(b) && b.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
}

function imagePart(block: Obj): Obj | undefined {
  const source = isObj(block.source) ? block.source : {};
  if (source.type === "base64") return { type: "image_url", image_url: { url: `data:${String(source.media_type)};base64,${String(source.data)}` } };
  if (source.type === "url" && typeof source.url === "string") return { type: "image_url", image_url: { url: source.url } };
  return undefined;
}

function toolChoice(choice: unknown): unknown {
  if (!isObj(choice)) return undefined;
  if (choice.type === "auto") return "auto";
  if (choice.type === "any") return "required";
  if (choice.type === "none") return "none";
  if (choice.type === "tool" && typeof choice.name === "string") return { type: "function", function: { name: choice.name } };
  return undefined;
}

/**
 * An Anthropic message request as a chat completions request for `model`. Server tools (web search,
 * code execution: tools with a `type` other than "custom") have no chat equivalent and are left out.
 */
export function messagesToChatRequest(body: Obj, model: string, stream: boolean, outputLimit?: number): Obj {
  const messages: Obj[] = [];
  const system = blocksText(body.system);
  if (system) messages.push({ role: "system", content: system });
  for (const m of Array.isArray(body.messages) ? (body.messages as Obj[]) : []) {
    if (!isObj(m)) continue;
    if (typeof m.content === "string") {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    const blocks = Array.isArray(m.content) ? m.content.filter(isObj) : [];
    if (m.role === "assistant") {
      const toolCalls = blocks.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
      const text = blocksText(blocks);
      messages.push({ role: "assistant", content: text === "" ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
      continue;
    }
    // A user turn: tool results become tool messages (which must follow the assistant's calls), the rest one user message.
    const parts: Obj[] = [];
    for (const b of blocks) {
      if (b.type === "tool_result") messages.push({ role: "tool", tool_call_id: b.tool_use_id, content: `${b.is_error === true ? "Error: " : ""}${blocksText(b.content)}` });
      else if (b.type === "text" && typeof b.text === "string") parts.push({ type: "text", text: b.text });
      else if (b.type === "image") {
        const part = imagePart(b);
        if (part) parts.push(part);
      }
    }
    if (parts.length > 0) messages.push({ role: "user", content: parts.every((p) => p.type === "text") ? parts.map((p) => p.text).join("") : parts });
  }
  const out: Obj = { model, messages };
  // Claude Code asks 32,000 of any model; an OpenAI model with a smaller known limit would refuse it.
  if (body.max_tokens !== undefined) out[chatCapField(model)] = typeof body.max_tokens === "number" && outputLimit !== undefined ? Math.min(body.max_tokens, outputLimit) : body.max_tokens;
  if (stream) Object.assign(out, { stream: true, stream_options: { include_usage: true } });
  for (const k of ["temperature", "top_p"] as const) if (body[k] !== undefined) out[k] = body[k];
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  const tools = (Array.isArray(body.tools) ? body.tools : []).filter((t): t is Obj => isObj(t) && (t.type === undefined || t.type === "custom"));
  if (tools.length > 0) {
    out.tools = tools.map((t) => ({ type: "function", function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: "object", properties: {} } } }));
    const choice = toolChoice(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (isObj(body.tool_choice) && body.tool_choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  }
  if (isObj(body.metadata) && typeof body.metadata.user_id === "string") out.user = body.metadata.user_id;
  return out;
}

/**
 * OpenAI usage as Anthropic usage: Anthropic's input_tokens leaves out cache reads and writes (writes are
 * stated by chat translated from a provider that has them: Bedrock, Anthropic).
 */
export function messageUsage(u: unknown): Obj {
  const usage = isObj(u) ? u : {};
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  const details = isObj(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cached = n(details.cached_tokens);
  const written = n(details.cache_creation_tokens);
  return { input_tokens: n(usage.prompt_tokens) - cached - written, output_tokens: n(usage.completion_tokens), cache_read_input_tokens: cached, cache_creation_input_tokens: written };
}

function parseInput(args: unknown): Obj {
  try {
    const v = JSON.parse(String(args)) as unknown;
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}

/** A chat completion as an Anthropic message. */
export function chatCompletionToMessage(completion: Obj): Obj {
  const choice = (Array.isArray(completion.choices) ? completion.choices[0] : undefined) as Obj | undefined;
  const message = isObj(choice?.message) ? choice.message : {};
  const content: Obj[] = [];
  // `citations: null` as Anthropic's API sends it (its SDK types the field as required); @ai-sdk/anthropic reads it (tested).
  if (typeof message.content === "string" && message.content !== "") content.push({ type: "text", text: message.content, citations: null });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObj(call) || !isObj(call.function)) continue;
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseInput(call.function.arguments) });
  }
  return {
    id: `msg_${String(completion.id ?? "")}`,
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: STOP_REASON[String(choice?.finish_reason)] ?? "end_turn",
    stop_sequence: null,
    usage: messageUsage(completion.usage),
  };
}

/**
 * Chat completion chunks as Anthropic's message events, ending with message_delta (usage) and message_stop.
 * `promptTokens` (the gateway's count, made while the upstream was asked) goes in message_start, where
 * Anthropic states the input tokens and clients such as LangChain read them; message_delta carries the
 * upstream's own count.
 */
export function chatEventsToMessages(promptTokens = 0): EventStep {
  let started = false;
  let blocks = 0; // content blocks opened so far
  let open: "text" | number | null = null; // the open block: text, or the tool call index it carries
  const toolBlock = new Map<number, number>(); // tool call index -> content block index
  let stopReason = "end_turn";
  let usage: Obj | undefined;

  const close = (): string[] => {
    if (open === null) return [];
    open = null;
    return [anthropicEvent("content_block_stop", { index: blocks - 1 })];
  };
  const start = (chunk: Obj): string[] => {
    if (started) return [];
    started = true;
    const message = { id: `msg_${String(chunk.id ?? "")}`, type: "message", role: "assistant", model: chunk.model ?? "", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: promptTokens, output_tokens: 0 } };
    return [anthropicEvent("message_start", { message })];
  };

  return ({ data }) => {
    if (data.trim() === "[DONE]") {
      return [
        ...start({}),
        ...close(),
        anthropicEvent("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, usage: messageUsage(usage) }),
        anthropicEvent("message_stop", {}),
      ];
    }
    const chunk = parseData(data);
    if (!chunk) return [];
    if (isObj(chunk.error)) {
      return [anthropicEvent("error", { error: { type: "api_error", message: String(chunk.error.message ?? "The upstream reported an error.") } })];
    }
    const out = start(chunk);
    if (isObj(chunk.usage)) usage = chunk.usage;
    const choice = (Array.isArray(chunk.choices) ? chunk.choices[0] : undefined) as Obj | undefined;
    const delta = isObj(choice?.delta) ? choice.delta : {};
    if (typeof delta.content === "string" && delta.content !== "") {
      if (open !== "text") {
        out.push(...close(), anthropicEvent("content_block_start", { index: blocks++, content_block: { type: "text", text: "" } }));
        open = "text";
      }
      out.push(anthropicEvent("content_block_delta", { index: blocks - 1, delta: { type: "text_delta", text: delta.content } }));
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (!isObj(call)) continue;
      const index = typeof call.index === "number" ? call.index : 0;
      const fn = isObj(call.function) ? call.function : {};
      if (!toolBlock.has(index)) {
        out.push(...close(), anthropicEvent("content_block_start", { index: blocks, content_block: { type: "tool_use", id: call.id, name: fn.name, input: {} } }));
        toolBlock.set(index, blocks++);
        open = index;
      }
      if (typeof fn.arguments === "string" && fn.arguments !== "") {
        out.push(anthropicEvent("content_block_delta", { index: toolBlock.get(index), delta: { type: "input_json_delta", partial_json: fn.arguments } }));
      }
    }
    if (typeof choice?.finish_reason === "string") stopReason = STOP_REASON[choice.finish_reason] ?? "end_turn";
    return out;
  };
}
