import type OpenAI from 'openai';
import type { ModelCallInput } from '../shared/model-call';
import type { ToolCall } from '../shared/run-output';
import { reportedTokens, type ModelAnswer, type ModelStreamSink } from './model-stream';
import { isStrictSchema } from './output-schema';
import { unreachable } from '../shared/never';

type ChatMessage = OpenAI.Chat.ChatCompletionMessageParam;

/** Calls Chat Completions (OpenAI or any compatible server), streaming when the model spec asks for it. */
export async function callChatCompletions(
  openai: OpenAI,
  input: ModelCallInput,
  sink: ModelStreamSink,
  signal: AbortSignal,
): Promise<ModelAnswer> {
  const request = {
    model: input.model.id,
    messages: toChatMessages(input),
    ...(input.model.temperature !== undefined ? { temperature: input.model.temperature } : {}),
    ...(input.model.maxOutputTokens !== undefined ? { max_completion_tokens: input.model.maxOutputTokens } : {}),
    ...(input.outputSchema
      ? {
          response_format: {
            type: 'json_schema' as const,
            json_schema: {
              name: input.outputSchema.name,
              schema: input.outputSchema.schema,
              strict: isStrictSchema(input.outputSchema.schema),
            },
          },
        }
      : {}),
    ...(input.tools.length > 0
      ? {
          tools: input.tools.map((tool) => ({
            type: 'function' as const,
            function: { name: tool.name, description: tool.description, parameters: tool.parameters },
          })),
        }
      : {}),
  };

  if (input.model.stream === false) {
    const completion = await openai.chat.completions.create({ ...request, stream: false }, { signal });
    const message = completion.choices[0]?.message;
    return {
      content: message?.content ?? '',
      toolCalls: (message?.tool_calls ?? []).flatMap((call) =>
        call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
      ),
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
      ...reportedTokens(
        completion.usage?.prompt_tokens_details?.cached_tokens,
        completion.usage?.completion_tokens_details?.reasoning_tokens,
      ),
    };
  }

  const answer: ModelAnswer = { content: '', toolCalls: [], inputTokens: 0, outputTokens: 0 };
  const partialCalls = new Map<number, ToolCall>();
  const stream = await openai.chat.completions.create(
    { ...request, stream: true, stream_options: { include_usage: true } },
    { signal },
  );
  for await (const chunk of stream) {
    sink.onEvent();
    const delta = chunk.choices[0]?.delta;
    if (delta?.content) {
      answer.content += delta.content;
      sink.onDelta(delta.content);
    }
    for (const part of delta?.tool_calls ?? []) {
      const call = partialCalls.get(part.index) ?? { id: '', name: '', arguments: '' };
      call.id ||= part.id ?? '';
      call.name += part.function?.name ?? '';
      call.arguments += part.function?.arguments ?? '';
      partialCalls.set(part.index, call);
    }
    if (chunk.usage) {
      answer.inputTokens = chunk.usage.prompt_tokens;
      answer.outputTokens = chunk.usage.completion_tokens;
      Object.assign(
        answer,
        reportedTokens(
          chunk.usage.prompt_tokens_details?.cached_tokens,
          chunk.usage.completion_tokens_details?.reasoning_tokens,
        ),
      );
    }
  }
  answer.toolCalls = [...partialCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return answer;
}

function toChatMessages(input: ModelCallInput): ChatMessage[] {
  const system: ChatMessage[] = input.instructions ? [{ role: 'system', content: input.instructions }] : [];
  return system.concat(
    input.messages.map((message): ChatMessage => {
      switch (message.role) {
        case 'system':
        case 'user':
          return { role: message.role, content: message.content };
        case 'assistant':
          return {
            role: 'assistant',
            content: message.content || null,
            ...(message.toolCalls?.length
              ? {
                  tool_calls: message.toolCalls.map((call) => ({
                    id: call.id,
                    type: 'function' as const,
                    function: { name: call.name, arguments: call.arguments },
                  })),
                }
              : {}),
          };
        case 'tool':
          return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
        default:
          return unreachable(message, 'message');
      }
    }),
  );
}
