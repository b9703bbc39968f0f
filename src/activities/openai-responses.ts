import type OpenAI from 'openai';
import type { ModelCallInput } from '../shared/model-call';
import { reportedTokens, type ModelAnswer, type ModelStreamSink } from './model-stream';
import { isStrictSchema } from './output-schema';
import { unreachable } from '../shared/never';

type ResponseInputItem = OpenAI.Responses.ResponseInputItem;

/** Calls the OpenAI Responses API, streaming when the model spec asks for it. */
export async function callResponses(
  openai: OpenAI,
  input: ModelCallInput,
  sink: ModelStreamSink,
  signal: AbortSignal,
): Promise<ModelAnswer> {
  const request = {
    model: input.model.id,
    input: toResponsesInput(input),
    ...(input.instructions ? { instructions: input.instructions } : {}),
    ...(input.model.temperature !== undefined ? { temperature: input.model.temperature } : {}),
    ...(input.model.maxOutputTokens !== undefined ? { max_output_tokens: input.model.maxOutputTokens } : {}),
    ...(input.outputSchema
      ? {
          text: {
            format: {
              type: 'json_schema' as const,
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
            name: tool.name,
            description: tool.description,
            parameters: tool.parameters,
            strict: false,
          })),
        }
      : {}),
  };

  if (input.model.stream === false) {
    const response = await openai.responses.create({ ...request, stream: false }, { signal });
    return fromOutput(response.output, response.output_text, response.usage);
  }

  const answer: ModelAnswer = { content: '', toolCalls: [], inputTokens: 0, outputTokens: 0 };
  const stream = await openai.responses.create({ ...request, stream: true }, { signal });
  for await (const event of stream) {
    sink.onEvent();
    switch (event.type) {
      case 'response.output_text.delta':
        answer.content += event.delta;
        sink.onDelta(event.delta);
        break;
      case 'response.completed': {
        const final = fromOutput(event.response.output, answer.content, event.response.usage);
        return { ...final, content: answer.content || final.content };
      }
      case 'response.failed':
        throw new Error(event.response.error?.message ?? 'the model response failed');
      case 'error':
        throw new Error(event.message);
      default:
        break;
    }
  }
  throw new Error('the model stream ended without response.completed');
}

function fromOutput(
  output: OpenAI.Responses.ResponseOutputItem[],
  text: string,
  usage: OpenAI.Responses.ResponseUsage | undefined,
): ModelAnswer {
  const toolCalls = output.flatMap((item) =>
    item.type === 'function_call' ? [{ id: item.call_id, name: item.name, arguments: item.arguments }] : [],
  );
  return {
    content: text,
    toolCalls,
    inputTokens: usage?.input_tokens ?? 0,
    outputTokens: usage?.output_tokens ?? 0,
    ...reportedTokens(usage?.input_tokens_details?.cached_tokens, usage?.output_tokens_details?.reasoning_tokens),
  };
}

function toResponsesInput(input: ModelCallInput): ResponseInputItem[] {
  return input.messages.flatMap((message): ResponseInputItem[] => {
    switch (message.role) {
      case 'system':
        return [{ role: 'system', content: message.content }];
      case 'user':
        return [{ role: 'user', content: message.content }];
      case 'assistant':
        return [
          ...(message.content ? [{ role: 'assistant' as const, content: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({
            type: 'function_call' as const,
            call_id: call.id,
            name: call.name,
            arguments: call.arguments,
          })),
        ];
      case 'tool':
        return [{ type: 'function_call_output', call_id: message.toolCallId, output: message.content }];
      default:
        return unreachable(message, 'message');
    }
  });
}
