// OpenAI chat completions served by AWS Bedrock's Converse API: the request translated to Converse, the
// answer (or its events, already decoded from AWS's event stream) translated back to a completion (or
// chunks), usage included.
import { invalidRequest } from "../../errors.ts";
import { alternatingTurns, isObj, parseArguments, refuseSeveralChoices, textOf, usageWithCache, type Obj } from "./chat-parts.ts";

/** Converse's stopReason as OpenAI's finish_reason. */
const FINISH_REASON: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

const IMAGE_FORMATS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp" };

function imageBlock(url: string): Obj {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  const format = data && IMAGE_FORMATS[data[1]!.toLowerCase()];
  if (!data || !format) throw invalidRequest("Images must be sent as base64 data URLs (PNG, JPEG, GIF or WebP) for this model: its provider does not fetch image URLs.", "messages", "unsupported_value");
  return { image: { format, source: { bytes: data[2] } } };
}

function userBlocks(content: unknown): Obj[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  const blocks: Obj[] = [];
  for (const part of Array.isArray(content) ? content : []) {
    if (!isObj(part)) continue;
    if (part.type === "text" && typeof part.text === "string" && part.text !== "") blocks.push({ text: part.text });
    const url = isObj(part.image_url) ? part.image_url.url : undefined;
    if (part.type === "image_url" && typeof url === "string") blocks.push(imageBlock(url));
  }
  return blocks;
}

function toolChoice(choice: unknown): Obj | undefined {
  if (choice === "auto") return { auto: {} };
  if (choice === "required") return { any: {} };
  if (isObj(choice) && isObj(choice.function) && typeof choice.function.name === "string") return { tool: { name: choice.function.name } };
  return undefined; // "none" has no Converse equivalent: the tools stay declared (earlier calls need them)
}

/** A chat completions request as a Converse request (the model is in the path). */
export function chatToConverseRequest(body: Obj): Obj {
  refuseSeveralChoices(body, "its provider answers with one message");
  const system: Obj[] = [];
  const { turns: messages, push } = alternatingTurns<"user" | "assistant", "content">("content");
  for (const m of Array.isArray(body.messages) ? (body.messages as Obj[]) : []) {
    if (!isObj(m)) continue;
    if (m.role === "system" || m.role === "developer") {
      const text = textOf(m.content);
      if (text) system.push({ text });
    } else if (m.role === "user") push("user", userBlocks(m.content));
    else if (m.role === "assistant") {
      const blocks: Obj[] = [];
      const text = textOf(m.content);
      if (text) blocks.push({ text });
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isObj(call) || !isObj(call.function)) continue;
        blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: parseArguments(call.function.arguments) } });
      }
      push("assistant", blocks);
    } else if (m.role === "tool") {
      push("user", [{ toolResult: { toolUseId: m.tool_call_id, content: [{ text: textOf(m.content) }] } }]);
    }
  }
  const out: Obj = { messages };
  if (system.length > 0) out.system = system;
  const config: Obj = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined && max !== null) config.maxTokens = max;
  if (body.temperature !== undefined && body.temperature !== null) config.temperature = body.temperature;
  if (body.top_p !== undefined && body.top_p !== null) config.topP = body.top_p;
  if (typeof body.stop === "string") config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) config.stopSequences = body.stop;
  if (Object.keys(config).length > 0) out.inferenceConfig = config;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const tools = body.tools
      .filter((tool): tool is Obj & { function: Obj } => isObj(tool) && isObj(tool.function))
      .map((tool) => ({ toolSpec: { name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), inputSchema: { json: tool.function.parameters ?? { type: "object", properties: {} } } } }));
    const choice = toolChoice(body.tool_choice);
    if (tools.length > 0) out.toolConfig = { tools, ...(choice ? { toolChoice: choice } : {}) };
  }
  return out;
}

/** Converse usage as OpenAI usage: the prompt counts cache reads and writes, as OpenAI's does. */
export function converseUsage(u: unknown): Obj | undefined {
  return isObj(u) ? usageWithCache(u.inputTokens, u.cacheReadInputTokens, u.cacheWriteInputTokens, u.outputTokens) : undefined;
}

const newId = () => `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;

/** A Converse answer as a chat completion (Converse names no id or model: a new id, the model asked). */
export function converseToChatCompletion(answer: Obj, request: { upstreamModel: string }): Obj {
  const message = isObj(answer.output) && isObj(answer.output.message) ? answer.output.message : {};
  let text = "";
  const toolCalls: Obj[] = [];
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (!isObj(block)) continue;
    if (typeof block.text === "string") text += block.text;
    const use = isObj(block.toolUse) ? block.toolUse : undefined;
    if (use) toolCalls.push({ id: use.toolUseId, type: "function", function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
  }
  const out: Obj = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text, refusal: null };
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  const usage = converseUsage(answer.usage);
  return {
    id: newId(),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.upstreamModel,
    choices: [{ index: 0, message: out, finish_reason: FINISH_REASON[String(answer.stopReason)] ?? "stop", logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

/** One decoded event of a Converse stream: its `:event-type` and JSON payload. */
export type ConverseStep = (type: string, payload: Obj) => string[];

/** Converse stream events as chat completion chunks; the metadata event (usage) ends with the usage chunk and [DONE]. */
export function converseEventsToChat(model: string): ConverseStep {
  const id = newId();
  const created = Math.floor(Date.now() / 1000);
  const toolIndex = new Map<number, number>(); // content block index -> tool call index
  const chunk = (delta: Obj, finish: string | null = null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
  return (type, ev) => {
    switch (type) {
      case "messageStart":
        return [chunk({ role: "assistant", content: "" })];
      case "contentBlockStart": {
        const use = isObj(ev.start) && isObj(ev.start.toolUse) ? ev.start.toolUse : undefined;
        if (!use) return [];
        const index = toolIndex.size;
        toolIndex.set(Number(ev.contentBlockIndex), index);
        return [chunk({ tool_calls: [{ index, id: use.toolUseId, type: "function", function: { name: use.name, arguments: "" } }] })];
      }
      case "contentBlockDelta": {
        const delta = isObj(ev.delta) ? ev.delta : {};
        if (typeof delta.text === "string") return delta.text === "" ? [] : [chunk({ content: delta.text })];
        const index = toolIndex.get(Number(ev.contentBlockIndex));
        if (isObj(delta.toolUse) && typeof delta.toolUse.input === "string" && index !== undefined) return [chunk({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] })];
        return [];
      }
      case "messageStop":
        return [chunk({}, FINISH_REASON[String(ev.stopReason)] ?? "stop")];
      case "metadata":
        return [`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: converseUsage(ev.usage) ?? null })}\n\n`, "data: [DONE]\n\n"];
      default:
        return [];
    }
  };
}
