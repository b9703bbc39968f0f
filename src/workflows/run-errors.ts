import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import type { ModelCallCancelledDetails } from '../shared/model-call';
import type { RunError } from '../shared/run-output';

/** The `{ type, message }` of a failure, looking through activity and child-workflow wrappers. */
export function toRunError(err: unknown): RunError {
  const cause = (err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}

/** The answer so far that a cancelled model activity reported, if the cancel came through one. */
export function partialAnswerOf(err: unknown): string | undefined {
  const cancelled = err instanceof ActivityFailure ? err.cause : err;
  if (!(cancelled instanceof CancelledFailure)) return undefined;
  const details = cancelled.details[0] as ModelCallCancelledDetails | undefined;
  return details?.partialContent || undefined;
}
