import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  isCancellation,
} from '@temporalio/workflow';
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

/**
 * True when `err` ends the current scope as a cancel: it is a cancellation, or a cancel was requested before it
 * arrived (Temporal does not retry an activity once its cancel is requested, so a failure in the moment before the
 * cancel reached the activity comes back as a failure). Once a cancel was requested, the run ends `CANCELLED`.
 */
export function endsByCancel(err: unknown): boolean {
  return isCancellation(err) || CancellationScope.current().consideredCancelled;
}
