// OpenAI chat completions served by Anthropic's Messages API: the request translated to a message, the
// message (or its event stream) translated back to a completion (or chunks), usage included.
import { alternatingTurns, isObj, parseArguments, refuseSeveralChoices, textOf, usageWithCache, type Obj } from "./chat-parts.ts";
import { parseData, type EventStep } from "./sse.ts";


/** Anthropic's stop_reason as OpenAI's finish_reason. */
export const FINISH_REASON: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};


function imageBlock(url: string): Obj {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return data ? { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } } : { type: "image", source: { type: "url", url } };
}

/** A user message's content as Anthropic blocks (text and images). */
function userBlocks(content: unknown): Obj[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: Obj[] = [];
  for (const part of content) {
    if (!isObj(part)) continue;
    if (part.type === "text" && typeof part.text === "string") blocks.push({ type: "text", text: part.text });
    const url = isObj(part.image_url) ? part.image_url.url : undefined;
    if (part.type === "image_url" && typeof url === "string") blocks.push(imageBlock(url));
  }
  return blocks;
}


function toolChoice(choice: unknown, parallel: unknown): Obj | undefined {
  let out: Obj | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "required") out = { type: "any" };
  else if (choice === "none") out = { type: "none" };
  else if (isObj(choice) && isObj(choice.function) && typeof choice.function.name === "string") out = { type: "tool", name: choice.function.name };
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

/** A chat completions request as an Anthropic message request for `model`. */
export function chatToAnthropicRequest(body: Obj, model: string, defaultMaxTokens: number, stream: boolean): Obj {
  refuseSeveralChoices(body, "its provider answers with one message");
  const system: string[] = [];
  // Anthropic wants user and assistant turns to alternate: consecutive turns of one role are merged.
  const { turns: messages, push } = alternatingTurns<"user" | "assistant", "content">("content");
  for (const m of (body.messages as Obj[]) ?? []) {
    if (m.role === "system" || m.role === "developer") system.push(textOf(m.content));
    else if (m.role === "user") push("user", userBlocks(m.content));
    else if (m.role === "assistant") {
      const blocks: Obj[] = [];
      const text = textOf(m.content);
      if (text) blocks.push({ type: "text", text });
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isObj(call) || !isObj(call.function)) continue;
        blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
      }
      push("assistant", blocks);
    } else if (m.role === "tool") {
      push("user", [{ type: "tool_result", tool_use_id: m.tool_call_id, content: textOf(m.content) }]);
    }
  }
  const out: Obj = { model, max_tokens: body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens, messages };
  if (system.length > 0) out.system = system.join("\n\n");
  if (stream) out.stream = true;
  for (const k of ["temperature", "top_p"] as const) if (body[k] !== undefined && body[k] !== null) out[k] = body[k];
  if (typeof body.stop === "string") out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = body.tools
      .filter((tool): tool is Obj & { function: Obj } => isObj(tool) && isObj(tool.function))
      .map((tool) => ({ name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), input_schema: tool.function.parameters ?? { type: "object", properties: {} } }));
  }
  const choice = toolChoice(body.tool_choice, body.parallel_tool_calls);
  if (choice && out.tools) out.tool_choice = choice;
  if (typeof body.user === "string") out.metadata = { user_id: body.user };
  return out;
}

/** Anthropic usage as OpenAI usage: the prompt counts cache reads and writes, as OpenAI's does. */
export function chatUsage(u: unknown): Obj | undefined {
  return isObj(u) ? usageWithCache(u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens, u.output_tokens) : undefined;
}

/** An Anthropic message as a chat completion. */
export function anthropicToChatCompletion(msg: Obj): Obj {
  let text = "";
  const toolCalls: Obj[] = [];
  for (const block of Array.isArray(msg.content) ? msg.content : []) {
    if (!isObj(block)) continue;
    if (block.type === "text" && typeof block.text === "string") text += block.text;
    if (block.type === "tool_use") toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
  }
  const message: Obj = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = chatUsage(msg.usage);
  return {
    id: msg.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: msg.model,
    choices: [{ index: 0, message, finish_reason: FINISH_REASON[String(msg.stop_reason)] ?? "stop", logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

/** Anthropic's message events as chat completion chunks, ending with a usage chunk and [DONE]. */
export function anthropicEventsToChat(): EventStep {
  let id = "";
  let model = "";
  const created = Math.floor(Date.now() / 1000);
  let usage: Obj = {};
  let finish: string | null = null;
  const toolIndex = new Map<number, number>(); // content block index -> tool call index
  const chunk = (delta: Obj, finishReason: string | null = null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] })}\n\n`;

  return ({ data }) => {
    const ev = parseData(data);
    if (!ev) return [];
    switch (ev.type) {
      case "message_start": {
        const msg = isObj(ev.message) ? ev.message : {};
        id = String(msg.id ?? "");
        model = String(msg.model ?? "");
        usage = isObj(msg.usage) ? { ...msg.usage } : {};
        return [chunk({ role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const block = isObj(ev.content_block) ? ev.content_block : {};
        if (block.type === "tool_use") {
          const index = toolIndex.size;
          toolIndex.set(Number(ev.index), index);
          return [chunk({ tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }] })];
        }
        return block.type === "text" && typeof block.text === "string" && block.text !== "" ? [chunk({ content: block.text })] : [];
      }
      case "content_block_delta": {
        const delta = isObj(ev.delta) ? ev.delta : {};
        if (delta.type === "text_delta") return [chunk({ content: delta.text })];
        const index = toolIndex.get(Number(ev.index));
        if (delta.type === "input_json_delta" && index !== undefined) return [chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })];
        return [];
      }
      case "message_delta": {
        if (isObj(ev.usage)) usage = { ...usage, ...ev.usage };
        const stop = isObj(ev.delta) ? ev.delta.stop_reason : undefined;
        finish = FINISH_REASON[String(stop)] ?? "stop";
        return [chunk({}, finish)];
      }
      case "message_stop":
        return [`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: chatUsage(usage) })}\n\n`, "data: [DONE]\n\n"];
      case "error": {
        const err = isObj(ev.error) ? ev.error : {};
        return [`data: ${JSON.stringify({ error: { message: String(err.message ?? "The upstream reported an error."), type: String(err.type ?? "upstream_error"), param: null, code: "upstream_error" } })}\n\n`];
      }
      default:
        return [];
    }
  };
}
