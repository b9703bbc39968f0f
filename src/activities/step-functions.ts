import { Context } from '@temporalio/activity';
import { StepFunctionFailed, StepFunctionInvalidResult, StepFunctionNotFound } from '../shared/errors';
import type { StepFunction } from '../define/contracts';
import type { StepFunctionCall, StepFunctionResult } from '../shared/step-functions';
import { unreachable } from '../shared/never';
import { whileHeartbeating } from './heartbeats';

/**
 * Builds the `runStepFunction` activity over the worker's registered step functions: executors, evaluators,
 * selectors and end conditions. A result of the wrong shape fails the step at once; an error thrown by the function
 * is `StepFunctionFailed`, which the workflow retries as the step allows. It heartbeats while the function runs.
 */
export function createRunStepFunction(functions: ReadonlyMap<string, StepFunction>) {
  return async function runStepFunction(call: StepFunctionCall): Promise<StepFunctionResult> {
    const fn = functions.get(call.name);
    if (!fn) throw new StepFunctionNotFound(call.name);
    let value: unknown;
    try {
      value = await whileHeartbeating(async () =>
        call.role === 'endCondition'
          ? await (fn as (outputs: unknown, iteration?: number) => unknown)(call.iterationOutputs ?? [], call.iteration)
          : await fn(call.stepInput),
      );
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      throw new StepFunctionFailed(call.name, err instanceof Error ? err.message : String(err));
    }
    return toResult(call, value);
  };
}

function toResult(call: StepFunctionCall, value: unknown): StepFunctionResult {
  switch (call.role) {
    case 'executor': {
      if (value === undefined || value === null || typeof value === 'string') {
        return { role: 'executor', content: value ?? null, success: true };
      }
      if (typeof value === 'object' && 'content' in value) {
        const { content, success } = value as { content: unknown; success?: unknown };
        return {
          role: 'executor',
          content: content === null || content === undefined ? null : String(content),
          success: success !== false,
        };
      }
      return { role: 'executor', content: JSON.stringify(value), success: true };
    }
    case 'evaluator':
    case 'endCondition':
      if (typeof value !== 'boolean') throw invalid(call, 'a boolean', value);
      return { role: call.role, verdict: value };
    case 'selector': {
      const selected = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(selected) || !selected.every((name) => typeof name === 'string')) {
        throw invalid(call, 'a step name or a list of step names', value);
      }
      return { role: 'selector', selected };
    }
    default:
      return unreachable(call.role, 'step function role');
  }
}

function invalid(call: StepFunctionCall, expected: string, value: unknown): StepFunctionInvalidResult {
  return new StepFunctionInvalidResult(
    `${call.role} '${call.name}' must return ${expected}, not ${JSON.stringify(value)?.slice(0, 100)}`,
  );
}
