import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { ModelCallInput, ModelCallResult, ToolCallInput, ToolCallResult } from '../shared/model-call';

/**
 * kern's own spans, inside the activities Temporal's OpenTelemetry interceptors already trace (`RunActivity:callModel`
 * is their parent): one per model request and one per tool call, with the attribute names of OpenTelemetry's GenAI
 * semantic conventions. Prompt, answer and tool argument text go in only with `recordContent`.
 */
export interface ActivityTracing {
  tracer: Tracer;
  /** Put the messages, the answer and tool arguments and results in span attributes. Default: only counts. */
  recordContent?: boolean;
}

/** The most characters of text one span attribute holds (OpenTelemetry backends cut far shorter values). */
const MAX_ATTRIBUTE_CHARS = 8_000;

const clip = (text: string) => (text.length > MAX_ATTRIBUTE_CHARS ? `${text.slice(0, MAX_ATTRIBUTE_CHARS)}…` : text);

/** `callModel` in a `chat {model}` span (GenAI `chat` operation). */
export function tracedCallModel(
  callModel: (input: ModelCallInput) => Promise<ModelCallResult>,
  tracing: ActivityTracing | undefined,
): (input: ModelCallInput) => Promise<ModelCallResult> {
  if (!tracing) return callModel;
  return (input) => {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': input.model.id,
      'kern.run.id': input.runId,
      'kern.model.api': input.model.provider,
      ...(input.model.temperature !== undefined ? { 'gen_ai.request.temperature': input.model.temperature } : {}),
      ...(input.model.maxOutputTokens !== undefined
        ? { 'gen_ai.request.max_tokens': input.model.maxOutputTokens }
        : {}),
      ...(input.outputSchema ? { 'gen_ai.output.type': 'json' } : {}),
      ...(tracing.recordContent
        ? {
            'gen_ai.system_instructions': clip(input.instructions ?? ''),
            'gen_ai.input.messages': clip(JSON.stringify(input.messages)),
          }
        : {}),
    };
    return inSpan(tracing, `chat ${input.model.id}`, SpanKind.CLIENT, attributes, async (span) => {
      const result = await callModel(input);
      span.setAttributes({
        'gen_ai.usage.input_tokens': result.inputTokens,
        'gen_ai.usage.output_tokens': result.outputTokens,
        ...(result.cacheReadTokens ? { 'gen_ai.usage.cache_read.input_tokens': result.cacheReadTokens } : {}),
        ...(result.reasoningTokens ? { 'gen_ai.usage.reasoning.output_tokens': result.reasoningTokens } : {}),
        'gen_ai.response.finish_reasons': [result.toolCalls.length > 0 ? 'tool_calls' : 'stop'],
        ...(tracing.recordContent
          ? {
              'gen_ai.output.messages': clip(
                JSON.stringify([{ role: 'assistant', content: result.content, toolCalls: result.toolCalls }]),
              ),
            }
          : {}),
      });
      return result;
    });
  };
}

/** `executeTool` in an `execute_tool {name}` span (GenAI `execute_tool` operation). */
export function tracedExecuteTool(
  executeTool: (input: ToolCallInput) => Promise<ToolCallResult>,
  tracing: ActivityTracing | undefined,
): (input: ToolCallInput) => Promise<ToolCallResult> {
  if (!tracing) return executeTool;
  return (input) => {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': input.toolName,
      'gen_ai.tool.call.id': input.toolCallId,
      'gen_ai.tool.type': 'function',
      'kern.run.id': input.runId,
      ...(tracing.recordContent ? { 'gen_ai.tool.call.arguments': clip(input.arguments) } : {}),
    };
    return inSpan(tracing, `execute_tool ${input.toolName}`, SpanKind.INTERNAL, attributes, async (span) => {
      const result = await executeTool(input);
      // A tool that threw returns its message to the model: the call failed, the activity did not.
      if (result.isError) span.setStatus({ code: SpanStatusCode.ERROR, message: clip(result.content) });
      if (result.isError) span.setAttribute('error.type', 'tool_error');
      if (tracing.recordContent) span.setAttribute('gen_ai.tool.call.result', clip(result.content));
      return result;
    });
  };
}

async function inSpan<T>(
  tracing: ActivityTracing,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  body: (span: Span) => Promise<T>,
): Promise<T> {
  return tracing.tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await body(span);
    } catch (err) {
      // The error's class (ModelUnavailable, CancelledFailure, …) and message; never the provider key (kern's errors
      // redact it before they are thrown).
      span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
