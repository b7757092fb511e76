// OpenAI chat completions served by Google's Gemini API: the request translated to generateContent, the
// answer (or its stream of partial answers) translated back to a completion (or chunks), usage included.
import { alternatingTurns, isObj, parseArguments, refuseSeveralChoices, textOf, type Obj } from "./chat-parts.ts";
import { parseData, type EventStep } from "./sse.ts";

/** Gemini's finishReason as OpenAI's finish_reason (blocked answers are content filtered). */
const FINISH_REASON: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
};

const MIME_BY_EXTENSION: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", pdf: "application/pdf" };

function imagePart(url: string): Obj {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { inlineData: { mimeType: data[1], data: data[2] } };
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase() ?? "";
  return { fileData: { mimeType: MIME_BY_EXTENSION[ext] ?? "image/jpeg", fileUri: url } };
}

function userParts(content: unknown): Obj[] {
  if (typeof content === "string") return [{ text: content }];
  const parts: Obj[] = [];
  for (const part of Array.isArray(content) ? content : []) {
    if (!isObj(part)) continue;
    if (part.type === "text" && typeof part.text === "string") parts.push({ text: part.text });
    const url = isObj(part.image_url) ? part.image_url.url : undefined;
    if (part.type === "image_url" && typeof url === "string") parts.push(imagePart(url));
  }
  return parts;
}

function toolConfig(choice: unknown): Obj | undefined {
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (isObj(choice) && isObj(choice.function) && typeof choice.function.name === "string") return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  return undefined;
}

function generationConfig(body: Obj): Obj {
  const config: Obj = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined && max !== null) config.maxOutputTokens = max;
  const fields = { temperature: "temperature", top_p: "topP", seed: "seed", presence_penalty: "presencePenalty", frequency_penalty: "frequencyPenalty" } as const;
  for (const [from, to] of Object.entries(fields)) if (body[from] !== undefined && body[from] !== null) config[to] = body[from];
  if (typeof body.stop === "string") config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) config.stopSequences = body.stop;
  const format = isObj(body.response_format) ? body.response_format : undefined;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  if (format?.type === "json_schema" && isObj(format.json_schema)) {
    config.responseMimeType = "application/json";
    if (isObj(format.json_schema.schema)) config.responseJsonSchema = format.json_schema.schema;
  }
  return config;
}

/** A chat completions request as a Gemini generateContent request (the model is in the path). */
export function chatToGeminiRequest(body: Obj): Obj {
  refuseSeveralChoices(body, "its provider is asked for one answer");
  const system: string[] = [];
  const { turns: contents, push } = alternatingTurns<"user" | "model", "parts">("parts");
  const toolNames = new Map<string, string>(); // tool call id -> function name (Gemini answers a call by name)
  for (const m of Array.isArray(body.messages) ? (body.messages as Obj[]) : []) {
    if (!isObj(m)) continue;
    if (m.role === "system" || m.role === "developer") system.push(textOf(m.content));
    else if (m.role === "user") push("user", userParts(m.content));
    else if (m.role === "assistant") {
      const parts: Obj[] = [];
      const text = textOf(m.content);
      if (text) parts.push({ text });
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isObj(call) || !isObj(call.function)) continue;
        if (typeof call.id === "string") toolNames.set(call.id, String(call.function.name));
        parts.push({ functionCall: { name: call.function.name, args: parseArguments(call.function.arguments) } });
      }
      push("model", parts);
    } else if (m.role === "tool") {
      const name = toolNames.get(String(m.tool_call_id)) ?? String(m.name ?? m.tool_call_id ?? "tool");
      push("user", [{ functionResponse: { name, response: { result: textOf(m.content) } } }]);
    }
  }
  const out: Obj = { contents };
  if (system.length > 0) out.systemInstruction = { parts: [{ text: system.join("\n\n") }] };
  const config = generationConfig(body);
  if (Object.keys(config).length > 0) out.generationConfig = config;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const declarations = body.tools
      .filter((tool): tool is Obj & { function: Obj } => isObj(tool) && isObj(tool.function))
      .map((tool) => ({ name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}) }));
    if (declarations.length > 0) out.tools = [{ functionDeclarations: declarations }];
  }
  const choice = toolConfig(body.tool_choice);
  if (choice && out.tools) out.toolConfig = choice;
  return out;
}

/**
 * Gemini's usageMetadata as OpenAI usage: the prompt includes the cached content; thinking tokens are
 * billed as output, so they count in completion_tokens and are named as reasoning.
 */
export function geminiUsage(u: unknown): Obj | undefined {
  if (!isObj(u)) return undefined;
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  const prompt = n(u.promptTokenCount) + n(u.toolUsePromptTokenCount);
  const thoughts = n(u.thoughtsTokenCount);
  const completion = n(u.candidatesTokenCount) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: n(u.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/** The text and function calls of a candidate's parts (thought summaries are left out). */
function readParts(candidate: Obj | undefined): { text: string; calls: Obj[] } {
  const parts = isObj(candidate?.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
  let text = "";
  const calls: Obj[] = [];
  for (const part of parts) {
    if (!isObj(part) || part.thought === true) continue;
    if (typeof part.text === "string") text += part.text;
    if (isObj(part.functionCall)) calls.push(part.functionCall);
  }
  return { text, calls };
}

function finishReason(candidate: Obj | undefined, blocked: boolean, calls: boolean): string | null {
  if (blocked) return "content_filter";
  const reason = candidate?.finishReason;
  if (typeof reason !== "string" || reason === "FINISH_REASON_UNSPECIFIED") return null;
  return calls && reason === "STOP" ? "tool_calls" : (FINISH_REASON[reason] ?? "stop");
}

const callId = (call: Obj, i: number, prefix: string) => (typeof call.id === "string" && call.id !== "" ? call.id : `call_${prefix}_${i}`);

/** A Gemini generateContent answer as a chat completion. */
export function geminiToChatCompletion(answer: Obj): Obj {
  const candidate = (Array.isArray(answer.candidates) ? answer.candidates[0] : undefined) as Obj | undefined;
  const { text, calls } = readParts(candidate);
  const id = String(answer.responseId ?? `gemini-${Date.now().toString(36)}`);
  const message: Obj = { role: "assistant", content: text === "" && calls.length > 0 ? null : text, refusal: null };
  if (calls.length > 0) message.tool_calls = calls.map((c, i) => ({ id: callId(c, i, id), type: "function", function: { name: c.name, arguments: JSON.stringify(c.args ?? {}) } }));
  const blocked = !candidate && isObj(answer.promptFeedback) && answer.promptFeedback.blockReason !== undefined;
  const usage = geminiUsage(answer.usageMetadata);
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: answer.modelVersion,
    choices: [{ index: 0, message, finish_reason: finishReason(candidate, blocked, calls.length > 0) ?? "stop", logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

/**
 * Gemini's streamed partial answers as chat completion chunks. The stream has no closing event: at its
 * end comes the usage chunk, then [DONE] only if a finish reason was seen (else the relay reports the
 * answer as cut short).
 */
export function geminiEventsToChat(): EventStep {
  let id = "";
  let model = "";
  const created = Math.floor(Date.now() / 1000);
  let usage: unknown;
  let finished = false;
  let started = false;
  let tools = 0;
  const chunk = (delta: Obj, finish: string | null = null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
  const step: EventStep = ({ data }) => {
    const ev = parseData(data);
    if (!ev) return [];
    if (isObj(ev.error)) return [`data: ${JSON.stringify({ error: { message: String(ev.error.message ?? "The upstream reported an error."), type: "upstream_error", param: null, code: "upstream_error" } })}\n\n`];
    const out: string[] = [];
    if (!started) {
      started = true;
      id = String(ev.responseId ?? `gemini-${Date.now().toString(36)}`);
      model = String(ev.modelVersion ?? "");
      out.push(chunk({ role: "assistant", content: "" }));
    }
    if (ev.usageMetadata !== undefined) usage = ev.usageMetadata;
    const candidate = (Array.isArray(ev.candidates) ? ev.candidates[0] : undefined) as Obj | undefined;
    const { text, calls } = readParts(candidate);
    if (text !== "") out.push(chunk({ content: text }));
    for (const call of calls) {
      const index = tools++;
      out.push(chunk({ tool_calls: [{ index, id: callId(call, index, id), type: "function", function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } }] }));
    }
    const blocked = !candidate && isObj(ev.promptFeedback) && ev.promptFeedback.blockReason !== undefined;
    const finish = finishReason(candidate, blocked, tools > 0);
    if (finish && !finished) {
      finished = true;
      out.push(chunk({}, finish));
    }
    return out;
  };
  step.end = () => {
    const tail = [`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: geminiUsage(usage) ?? null })}\n\n`];
    if (finished) tail.push("data: [DONE]\n\n");
    return tail;
  };
  return step;
}
