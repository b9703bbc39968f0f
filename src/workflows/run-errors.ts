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

/** The partial answer a cancelled model activity reported, if the cancel came through one. */
export function partialContent(err: unknown): { content: string; streamedChars: number } | undefined {
  const cancelled = err instanceof ActivityFailure ? err.cause : err;
  if (!(cancelled instanceof CancelledFailure)) return undefined;
  const details = cancelled.details[0] as ModelCallCancelledDetails | undefined;
  if (!details?.partialContent) return undefined;
  // Older workers flushed every delta before reporting a cancel.
  return { content: details.partialContent, streamedChars: details.streamedChars ?? details.partialContent.length };
}
