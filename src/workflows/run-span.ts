import type { Attributes, Span } from '@opentelemetry/api';
import { unreachable } from '../shared/never';
import type { AnyRunOutput } from '../shared/run-output';
import { componentOf, type RunInput } from '../shared/specs';

/** Where the OpenTelemetry API (major version 1) keeps what is registered with it, on the global object. */
const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * The run's attributes on Temporal's `RunWorkflow` span, when the worker traces (see `TracingOptions`): what runs,
 * in the attribute names of OpenTelemetry's GenAI conventions, and at the end its status and token totals. A worker
 * that does not trace has no active span here, and this does nothing. Spans are not commands: they leave the
 * run's history unchanged.
 */
export function runSpanOf(input: RunInput): Span | undefined {
  // Temporal's workflow interceptor registers OpenTelemetry in a sandbox that traces, before the run starts. Anywhere
  // else the API is not even loaded: its modules would be set up again for every run (the bench's profile showed it).
  if ((globalThis as Record<symbol, unknown>)[OTEL_API_GLOBAL] === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing, see above
  const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  span.setAttributes({
    ...operationAttributes(input),
    'gen_ai.conversation.id': input.sessionId,
    'kern.run.id': input.runId,
    'kern.run.kind': input.kind,
    ...(input.parentRunId !== undefined ? { 'kern.run.parent_id': input.parentRunId } : {}),
    ...(input.scheduleId !== undefined ? { 'kern.schedule.id': input.scheduleId } : {}),
  });
  return span;
}

/** What the run does, in GenAI terms: a workflow is invoked as one; an agent or a team (its leader) as an agent. */
function operationAttributes(input: RunInput): Attributes {
  const component = componentOf(input);
  switch (component.kind) {
    case 'workflow':
      return { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': component.name };
    case 'agent':
    case 'team':
      return {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.id': component.id,
        'gen_ai.agent.name': component.name,
        'gen_ai.request.model': component.model.id,
      };
    default:
      return unreachable(component, 'component spec');
  }
}

/** The run's outcome on its span: status, and the tokens it used (its members' included for a team). */
export function endRunSpan(span: Span | undefined, output: AnyRunOutput): void {
  span?.setAttributes({
    'kern.run.status': output.status,
    'gen_ai.usage.input_tokens': output.metrics.inputTokens,
    'gen_ai.usage.output_tokens': output.metrics.outputTokens,
    ...(output.error ? { 'error.type': output.error.type } : {}),
  });
}
