import { workflowInfo } from '@temporalio/workflow';
import { RunTooLarge, toApplicationFailure } from '../shared/errors';
import { HISTORY_BUDGET, PAYLOAD_BUDGET_BYTES, jsonBytes, withinPayloadBudget } from '../shared/limits';
import type { ModelCallInput } from '../shared/model-call';

/** The checks that end a run `RunTooLarge` before it outgrows what Temporal keeps (see `shared/limits.ts`). */

/** A conversation too large for one model request ends the run `RunTooLarge`, before Temporal refuses the payload. */
export function checkModelRequestSize(request: ModelCallInput): void {
  if (withinPayloadBudget(request)) return;
  const bytes = jsonBytes(request);
  throw toApplicationFailure(
    new RunTooLarge(
      `the conversation has grown to ${megabytes(bytes)} MB, over the ${megabytes(PAYLOAD_BUDGET_BYTES)} MB kern ` +
        `sends in one model request (Temporal refuses payloads over 2 MB); give tools a smaller maxResultChars`,
    ),
  );
}

/**
 * A run whose history nears Temporal's limits ends `RunTooLarge` through kern's finish, before Temporal would
 * terminate it: a workflow run, or an agent or team run that could not continue as new (`whyNotContinued`). Called
 * before each model request and each workflow step.
 */
export function checkHistoryBudget(whyNotContinued?: string): void {
  const { historySize, historyLength } = workflowInfo();
  if (historySize <= HISTORY_BUDGET.bytes && historyLength <= HISTORY_BUDGET.events) return;
  throw toApplicationFailure(
    new RunTooLarge(
      `the run's Temporal history has reached ${megabytes(historySize)} MB and ${historyLength} events, ` +
        `past kern's bound of ${megabytes(HISTORY_BUDGET.bytes)} MB or ${HISTORY_BUDGET.events} events ` +
        `(Temporal terminates a run at 50 MB or 51,200)${whyNotContinued ? `, and ${whyNotContinued}` : ''}`,
    ),
  );
}

export function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
