import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { DELEGATE_TO_ALL, DELEGATE_TO_MEMBER } from '../shared/tool-calls';

/** One scripted model answer. */
export type ScriptedTurn =
  | {
      /** The answer's text, streamed word by word. */
      text: string;
      /** Delay before each word (default: the server's `tokenDelayMs`). */
      tokenDelayMs?: number;
      /** After the text, keep the response open until the client aborts it (for cancel tests). */
      hang?: boolean;
      /** Drop the connection after this many words, as a crashed provider would. */
      dropAfterWords?: number;
      /** Token counts the provider reports besides input and output (cached input, reasoning), for usage tests. */
      usage?: { cachedTokens?: number; reasoningTokens?: number };
    }
  | { toolCalls: Array<{ name: string; arguments: unknown; id?: string }> }
  | {
      error: {
        status: number;
        message: string;
        /** Sent as the `retry-after` header, in seconds. */ retryAfter?: number;
      };
    };

/** A request the server received, as a test would check it. */
export interface RecordedRequest {
  api: 'responses' | 'chat';
  model: string;
  stream: boolean;
  /** The request's user messages, joined (earlier turns of a session included). */
  userText: string;
  /** The request's last user message: the run's own input, without the history before it. */
  lastUserText: string;
  body: Record<string, unknown>;
  /** The `Authorization` header was present (its value is never recorded). */
  authorized: boolean;
  /** The client went away before the answer was complete. */
  aborted: boolean;
  /** The scripted answer was sent in full. */
  completed: boolean;
  /** When the request arrived, and when each streamed word and the abort (if any) went out (`performance.now()`). */
  receivedAt: number;
  wordTimes: number[];
  abortedAt?: number;
}

export interface ModelServerOptions {
  port?: number;
  /** Delay before each streamed word, unless a turn says otherwise (default 0). */
  tokenDelayMs?: number;
  /** The answer when nothing scripted matches (default: the stand-in's made-up text). */
  fallback?: (request: RecordedRequest) => ScriptedTurn;
}

interface Rule {
  matches: (request: RecordedRequest) => boolean;
  turns: ScriptedTurn[];
}

/**
 * A local HTTP server that speaks the OpenAI protocols kern uses: the Responses API and Chat Completions, whole or
 * streamed, with tool calls and errors. Tests script its answers; without a script it is the development stand-in
 * that makes up an answer, so the demo runs with no API key.
 */
export class ScriptedModelServer {
  readonly requests: RecordedRequest[] = [];
  private readonly rules: Rule[] = [];
  private readonly waiters = new Set<() => void>();

  private server: ServerType | undefined;
  private baseUrl = '';

  private constructor(private readonly options: ModelServerOptions) {}

  /** Base URL for the `openai` package (`OPENAI_BASE_URL`), ending in `/v1`. */
  get url(): string {
    return this.baseUrl;
  }

  /** Starts the server on 127.0.0.1 (a free port unless one is given). */
  static async start(options: ModelServerOptions = {}): Promise<ScriptedModelServer> {
    const instance = new ScriptedModelServer(options);
    const app = new Hono();
    app.post('/v1/responses', (c) => instance.handle(c, 'responses'));
    app.post('/v1/chat/completions', (c) => instance.handle(c, 'chat'));
    instance.server = await new Promise<ServerType>((resolve) => {
      const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 }, () =>
        resolve(started),
      );
    });
    const { port } = instance.server.address() as AddressInfo;
    instance.baseUrl = `http://127.0.0.1:${port}/v1`;
    return instance;
  }

  /** Answers the next requests, in order, with these turns. */
  reply(...turns: ScriptedTurn[]): this {
    return this.replyWhen(() => true, ...turns);
  }

  /** Answers requests whose user text contains `match` (or that `match` accepts) with these turns, in order. */
  replyWhen(match: string | ((request: RecordedRequest) => boolean), ...turns: ScriptedTurn[]): this {
    const matches = typeof match === 'string' ? (request: RecordedRequest) => request.userText.includes(match) : match;
    this.rules.push({ matches, turns: [...turns] });
    return this;
  }

  /** The requests whose user text contains `text`. */
  requestsFor(text: string): RecordedRequest[] {
    return this.requests.filter((request) => request.userText.includes(text));
  }

  /** Resolves when `predicate` holds for what the server has seen; rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`model server: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    const server = this.server as Server | undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async handle(c: Context, api: 'responses' | 'chat'): Promise<Response> {
    const body = (await c.req.json()) as Record<string, unknown>;
    const userTexts = userTextsOf(api, body);
    const request: RecordedRequest = {
      api,
      model: String(body.model),
      stream: body.stream === true,
      userText: userTexts.join('\n'),
      lastUserText: userTexts.at(-1) ?? '',
      body,
      authorized: Boolean(c.req.header('authorization')),
      aborted: false,
      completed: false,
      receivedAt: performance.now(),
      wordTimes: [],
    };
    this.requests.push(request);
    this.changed();
    const turn = this.nextTurn(request);

    if ('error' in turn) {
      request.completed = true;
      this.changed();
      return c.json(
        { error: { message: turn.error.message, type: 'scripted_error', code: null } },
        turn.error.status as 400,
        turn.error.retryAfter !== undefined ? { 'retry-after': String(turn.error.retryAfter) } : {},
      );
    }
    const answer = 'text' in turn ? turn : { text: '' };
    const toolCalls = 'toolCalls' in turn ? normalizeToolCalls(turn.toolCalls) : [];
    const words = answer.text.match(/\S+\s*/g) ?? [];
    const delay = ('tokenDelayMs' in answer ? answer.tokenDelayMs : undefined) ?? this.options.tokenDelayMs ?? 0;
    const usage: Usage = {
      input: countWords(request.userText),
      output: words.length,
      ...('usage' in answer ? answer.usage : {}),
    };

    if (!request.stream) {
      await sleep(delay * words.length);
      request.completed = true;
      this.changed();
      return c.json(
        api === 'responses'
          ? responsesBody(request, answer.text, toolCalls, usage)
          : chatBody(request, answer.text, toolCalls, usage),
      );
    }

    return streamSSE(c, async (stream) => {
      let aborted = false;
      stream.onAbort(() => {
        aborted = true;
        request.aborted = !request.completed;
        request.abortedAt ??= performance.now();
        this.changed();
      });
      const emit = api === 'responses' ? responsesEmitter(stream, request) : chatEmitter(stream, request);
      await emit.start();
      for (const [index, word] of words.entries()) {
        if ('dropAfterWords' in answer && answer.dropAfterWords === index) {
          // Simulate a provider crash: cut the connection mid-answer.
          c.env?.incoming?.socket?.destroy();
          request.aborted = true;
          this.changed();
          return;
        }
        if (delay > 0) await sleep(delay);
        if (aborted) return;
        request.wordTimes.push(performance.now());
        this.changed();
        await emit.delta(word);
      }
      if ('hang' in answer && answer.hang) {
        while (!aborted) await sleep(20);
        return;
      }
      await emit.finish(answer.text, toolCalls, usage);
      request.completed = true;
      this.changed();
    });
  }

  private nextTurn(request: RecordedRequest): ScriptedTurn {
    for (const rule of this.rules) {
      if (rule.turns.length > 0 && rule.matches(request)) return rule.turns.shift()!;
    }
    return (this.options.fallback ?? standInAnswer)(request);
  }
}

interface NormalizedToolCall {
  id: string;
  name: string;
  arguments: string;
}

interface Usage {
  input: number;
  output: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

interface Emitter {
  start(): Promise<void>;
  delta(text: string): Promise<void>;
  finish(text: string, toolCalls: NormalizedToolCall[], usage: Usage): Promise<void>;
}

function responsesEmitter(stream: SSEStreamingApi, request: RecordedRequest): Emitter {
  const id = `resp_${randomUUID()}`;
  const itemId = `msg_${randomUUID()}`;
  let sequence = 0;
  const send = (event: Record<string, unknown> & { type: string }) =>
    stream.writeSSE({ event: event.type, data: JSON.stringify({ ...event, sequence_number: sequence++ }) });
  return {
    start: () =>
      send({
        type: 'response.created',
        response: { id, object: 'response', status: 'in_progress', model: request.model, output: [] },
      }),
    delta: (text) =>
      send({ type: 'response.output_text.delta', item_id: itemId, output_index: 0, content_index: 0, delta: text }),
    async finish(text, toolCalls, usage) {
      const response = responsesBody(request, text, toolCalls, usage, id, itemId);
      for (const [index, item] of (response.output as unknown[]).entries()) {
        await send({ type: 'response.output_item.done', output_index: index, item });
      }
      await send({ type: 'response.completed', response });
    },
  };
}

function chatEmitter(stream: SSEStreamingApi, request: RecordedRequest): Emitter {
  const id = `chatcmpl-${randomUUID()}`;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    stream.writeSSE({
      data: JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created: nowSeconds(),
        model: request.model,
        choices,
        ...extra,
      }),
    });
  return {
    start: () => chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
    delta: (text) => chunk([{ index: 0, delta: { content: text }, finish_reason: null }]),
    async finish(_text, toolCalls, usage) {
      if (toolCalls.length > 0) {
        await chunk([
          {
            index: 0,
            delta: {
              tool_calls: toolCalls.map((call, index) => ({
                index,
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            },
            finish_reason: null,
          },
        ]);
      }
      await chunk([{ index: 0, delta: {}, finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop' }]);
      await chunk([], { usage: chatUsage(usage) });
      await stream.writeSSE({ data: '[DONE]' });
    },
  };
}

function responsesBody(
  request: RecordedRequest,
  text: string,
  toolCalls: NormalizedToolCall[],
  usage: Usage,
  id = `resp_${randomUUID()}`,
  itemId = `msg_${randomUUID()}`,
): Record<string, unknown> {
  const message = text
    ? [
        {
          id: itemId,
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text, annotations: [] }],
        },
      ]
    : [];
  const calls = toolCalls.map((call) => ({
    id: `fc_${call.id}`,
    type: 'function_call',
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status: 'completed',
  }));
  return {
    id,
    object: 'response',
    created_at: nowSeconds(),
    status: 'completed',
    model: request.model,
    output: [...message, ...calls],
    output_text: text,
    usage: {
      input_tokens: usage.input,
      input_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
      total_tokens: usage.input + usage.output,
    },
  };
}

function chatBody(request: RecordedRequest, text: string, toolCalls: NormalizedToolCall[], usage: Usage) {
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model: request.model,
    choices: [
      {
        index: 0,
        finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
        message: {
          role: 'assistant',
          content: text || null,
          ...(toolCalls.length > 0
            ? {
                tool_calls: toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
      },
    ],
    usage: chatUsage(usage),
  };
}

function chatUsage(usage: Usage) {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

function normalizeToolCalls(calls: Array<{ name: string; arguments: unknown; id?: string }>): NormalizedToolCall[] {
  return calls.map((call) => ({
    id: call.id ?? `call_${randomUUID().slice(0, 8)}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
}

function userTextsOf(api: 'responses' | 'chat', body: Record<string, unknown>): string[] {
  const items = (api === 'responses' ? body.input : body.messages) as unknown;
  if (typeof items === 'string') return [items];
  if (!Array.isArray(items)) return [];
  return items
    .filter((item): item is { role: string; content: unknown } => typeof item === 'object' && item?.role === 'user')
    .map((item) => (typeof item.content === 'string' ? item.content : JSON.stringify(item.content)));
}

const STAND_IN_WORDS = (
  'durable runs keep going when a worker restarts because every model call is an activity and every run is a ' +
  'workflow whose history Temporal keeps so a poll can read the status and a cancel can stop the request ' +
  'while the answer streams back token by token'
).split(' ');

/**
 * The development stand-in's answer: made-up text, as long as the prompt asks ("at least 5000 words" gives a long
 * answer, capped at 1,500 words), so the demo's polling and cancelling have something to work on. Offered a team's
 * delegation tool, it plays the leader: it hands the task to each member in turn (or to all at once), then answers.
 * Offered a tool the prompt names (every word of its name is in the prompt: `send_email` in "send an email") whose
 * parameters are all text, it calls it once, with the prompt's quoted strings as the arguments, in order. Asked for
 * a JSON answer of a schema (structured output), it answers a made-up value of that shape.
 */
export function standInAnswer(request: RecordedRequest): ScriptedTurn {
  const question = request.lastUserText.split('\n')[0]!.trim();
  const tools = offeredTools(request);
  const answered = toolOutputs(request);
  const schema = requestedSchema(request);
  if (schema) return { text: JSON.stringify(sampleOf(schema, question)) };
  const toAll = tools.find((tool) => tool.name === DELEGATE_TO_ALL);
  if (toAll && answered.length === 0) {
    return { toolCalls: [{ name: toAll.name, arguments: { task: question } }] };
  }
  const toMember = tools.find((tool) => tool.name === DELEGATE_TO_MEMBER);
  const members = memberIds(toMember);
  if (toMember && answered.length < members.length) {
    return { toolCalls: [{ name: toMember.name, arguments: { member_id: members[answered.length], task: question } }] };
  }
  const named = answered.length === 0 ? namedToolCall(tools, request.lastUserText) : undefined;
  if (named) return { toolCalls: [named] };
  if (answered.length > 0) {
    const gist = answered.map((output) => output.split(/\s+/).slice(0, 12).join(' ')).join(' … ');
    const found = toMember || toAll ? 'Here is what the team found' : 'The tools said';
    return { text: `[stand-in model] ${found}: ${gist} …` };
  }
  const asked = /(\d[\d,]*)\s*words/i.exec(request.lastUserText);
  const length = asked ? Math.min(Number(asked[1]!.replace(/,/g, '')), 1_500) : 24;
  const words = Array.from({ length }, (_, index) => STAND_IN_WORDS[index % STAND_IN_WORDS.length]);
  // Earlier turns of a session come before the input: the stand-in shows it was given them.
  const earlier = request.userText.slice(0, -request.lastUserText.length).trim();
  const remembered = earlier ? ` Earlier in this session you said: "${earlier.split('\n')[0]!.trim()}".` : '';
  return {
    text: `[stand-in model] You asked: "${question}"${remembered} Here is a made-up answer: ${words.join(' ')}.`,
  };
}

/** The JSON schema a request asks the answer to follow (Responses `text.format`, Chat `response_format`), if any. */
function requestedSchema(request: RecordedRequest): Record<string, unknown> | undefined {
  const body = request.body as {
    text?: { format?: { type?: string; schema?: Record<string, unknown> } };
    response_format?: { type?: string; json_schema?: { schema?: Record<string, unknown> } };
  };
  if (body.text?.format?.type === 'json_schema') return body.text.format.schema;
  if (body.response_format?.type === 'json_schema') return body.response_format.json_schema?.schema;
  return undefined;
}

/** A made-up value of a JSON schema's shape: text naming the field and question, 1, true, one item per list. */
function sampleOf(schema: Record<string, unknown>, question: string, field = 'answer'): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(
        Object.entries(properties).map(([key, inner]) => [key, sampleOf(inner, question, key)]),
      );
    }
    case 'array':
      return [sampleOf((schema.items ?? {}) as Record<string, unknown>, question, field)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    default:
      return `[stand-in] ${field} for "${question.slice(0, 60)}"`;
  }
}

interface OfferedTool {
  name: string;
  parameters?: { properties?: Record<string, { enum?: unknown[]; type?: unknown }> };
}

/** The call of a tool the prompt names, its text parameters filled with the prompt's quoted strings (see the stand-in). */
function namedToolCall(tools: OfferedTool[], prompt: string): { name: string; arguments: unknown } | undefined {
  const words = new Set(prompt.toLowerCase().split(/[^a-z0-9]+/));
  const quoted = [...prompt.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
  for (const tool of tools) {
    if (tool.name === DELEGATE_TO_ALL || tool.name === DELEGATE_TO_MEMBER) continue;
    if (
      !tool.name
        .toLowerCase()
        .split(/[_-]+/)
        .every((word) => words.has(word))
    )
      continue;
    const properties = Object.entries(tool.parameters?.properties ?? {});
    if (properties.length > quoted.length || properties.some(([, schema]) => schema.type !== 'string')) continue;
    return { name: tool.name, arguments: Object.fromEntries(properties.map(([key], i) => [key, quoted[i]])) };
  }
  return undefined;
}

function offeredTools(request: RecordedRequest): OfferedTool[] {
  const tools = Array.isArray(request.body.tools) ? (request.body.tools as Array<Record<string, unknown>>) : [];
  return tools.map((tool) =>
    request.api === 'chat' ? (tool.function as OfferedTool) : (tool as unknown as OfferedTool),
  );
}

function memberIds(tool: OfferedTool | undefined): string[] {
  const ids = tool?.parameters?.properties?.member_id?.enum;
  return Array.isArray(ids) ? ids.map(String) : [];
}

/** The tool results already in the conversation, in order. */
function toolOutputs(request: RecordedRequest): string[] {
  const items = (request.api === 'chat' ? request.body.messages : request.body.input) as unknown;
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: Record<string, unknown>) => {
    if (request.api === 'chat' && item.role === 'tool') return [String(item.content)];
    if (request.api === 'responses' && item.type === 'function_call_output') return [String(item.output)];
    return [];
  });
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
