import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { RunIdInUseError } from '../shared/errors';
import { workflowIdForRun } from '../shared/ids';
import { RUN_KINDS, type RunKind } from '../shared/kinds';
import { exactPartialOnCancelSignal } from '../shared/messages';
import { RunStatus } from '../shared/run-status';
import { kernComponentIdKey, kernKindKey, kernStatusKey } from '../shared/search-attributes';
import type { RunInput } from '../shared/specs';
import { firstRunIdOf, type RunWorkflow, type TemporalAccess } from './temporal-access';

/**
 * Cancelling runs, also before they start. A cancel of a run id that nothing has started is recorded as a marker
 * execution under the run's workflow id ({@link recordCancelIntent}); a later start with that id finds it and starts
 * the run only to end it `CANCELLED` ({@link startAfterCancelIntent}). Both halves are here.
 */

/** Who cancelled before a run started, as far as the caller knows: the kind and id of the component. */
export interface CancelIntent {
  kind: RunKind;
  componentId: string;
}

/** How {@link KernClient.cancelRun} cancels. */
export interface CancelOptions {
  /**
   * Keep the exact answer so far as the run's `content`. By default a cancelled run ends at once, with the answer its
   * stream carried (all but the last batch window of text: 80 ms for a streamed run, up to a second or more for a
   * background one). With this, it ends once its model call has stopped and reported every token it had: about a
   * heartbeat interval (250 ms by default) later, and one signal more in its history. Applies to the run's own model
   * call; its members' and steps' runs keep what they streamed.
   */
  exactPartial?: boolean;
  /** What the run will be, when the caller knows: the record of a cancel before start shows it in the Temporal UI. */
  intent?: CancelIntent;
  /**
   * Who asked, and why, in a few words: recorded on the run's cancel request in its Temporal history (the Temporal UI
   * shows it beside the requester's identity), and on the record of a cancel before start.
   */
  reason?: string;
}

/** Workflow type of the marker that records a cancel for a run id that has not started yet. */
const CANCEL_INTENT_TYPE = 'kernCancelIntent';

/** How often a run started after a recorded cancel tries again when another start is replacing the record too. */
const CANCEL_INTENT_CHECKS = 10;

/**
 * The longest a cancel's record can stay open. Its recorder closes it at once; if the recorder dies first, a run
 * started with the id closes it, and if none starts, Temporal does after this (the record then shows `TIMED_OUT`).
 */
const CANCEL_INTENT_TIMEOUT = '1 minute';

/** See {@link KernClient.cancelRun}. */
export async function cancelRun(access: TemporalAccess, runId: string, options: CancelOptions = {}): Promise<boolean> {
  // Described first: Temporal takes a cancel request for a closed execution without complaint.
  const description = await access.describeRun(runId);
  if (!description) return recordCancelIntent(access, runId, options.intent, options.reason);
  if (description.type === CANCEL_INTENT_TYPE || description.status.name !== 'RUNNING') return false;
  try {
    // Before the cancel, so the run has the wish when the cancel reaches it (its newest execution: the signal names
    // none, and a run that continues as new carries the wish).
    if (options.exactPartial) await access.runHandle(runId).signal(exactPartialOnCancelSignal);
    await requestCancel(access, runId, firstRunIdOf(description), options.reason);
  } catch (err) {
    // It closed since it was described: it had finished.
    if (err instanceof WorkflowNotFoundError) return false;
    throw access.unreachableOr(err);
  }
  return true;
}

/** True when a description is that of a cancel recorded before its run started, not of a run. */
export function isCancelIntent(description: { type: string } | undefined): boolean {
  return description?.type === CANCEL_INTENT_TYPE;
}

/** Memo key of a recorded cancel's reason, when its caller gave one. */
const CANCEL_REASON_MEMO = 'kernCancelReason';

/**
 * Records a cancel for a run id nothing has started: a marker execution under the run's workflow id, terminated
 * at once, so no worker ever runs it and a later start with that id finds it. Until a run starts with the id (which
 * deletes it), it is the run's row in the Temporal UI, with `KernStatus` `CANCELLED`, and the kind and component
 * when the caller knows them.
 */
async function recordCancelIntent(
  access: TemporalAccess,
  runId: string,
  intent?: CancelIntent,
  reason?: string,
): Promise<boolean> {
  try {
    const marker = await access.temporal.workflow.start(CANCEL_INTENT_TYPE, {
      workflowId: workflowIdForRun(runId),
      taskQueue: `${access.taskQueue}-cancel-intents`,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowExecutionTimeout: CANCEL_INTENT_TIMEOUT,
      typedSearchAttributes: [
        { key: kernStatusKey, value: RunStatus.cancelled },
        ...(intent
          ? [
              { key: kernKindKey, value: intent.kind },
              { key: kernComponentIdKey, value: intent.componentId },
            ]
          : []),
      ],
      // The run that replaces the record gives it to its own cancel request, whose cause its history shows.
      ...(reason !== undefined ? { memo: { [CANCEL_REASON_MEMO]: reason } } : {}),
      staticSummary: `cancel of run ${runId}, requested before it started`,
      staticDetails:
        `Records that run \`${runId}\` was cancelled before it started. This execution never runs: when the run ` +
        `starts, it finds this record and ends \`CANCELLED\` without calling the model.`,
    });
    try {
      await marker.terminate(`kern: cancel requested before the run started${reason ? ` (${reason})` : ''}`);
    } catch (err) {
      // A run with this id started meanwhile and closed the record itself: it runs cancelled.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return false;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // A run with this id appeared meanwhile: cancel it instead.
    const description = await access.describeRun(runId);
    if (isCancelIntent(description) || description?.status.name !== 'RUNNING') return false;
    await requestCancel(access, runId, firstRunIdOf(description), reason);
    return true;
  }
}

/**
 * Asks Temporal to cancel the run: the newest execution of the chain that `firstExecutionRunId` began (a run that
 * continued as new has several). With a reason, through the service call itself: the SDK's handle does not take one
 * (1.23), and the reason is what the history shows as the request's cause.
 */
async function requestCancel(
  access: TemporalAccess,
  runId: string,
  firstExecutionRunId: string,
  reason: string | undefined,
): Promise<void> {
  const workflowId = workflowIdForRun(runId);
  if (reason === undefined) {
    await access.temporal.workflow.getHandle(workflowId, undefined, { firstExecutionRunId }).cancel();
    return;
  }
  try {
    await access.temporal.workflowService.requestCancelWorkflowExecution({
      namespace: access.temporal.options.namespace,
      workflowExecution: { workflowId },
      firstExecutionRunId,
      identity: access.temporal.options.identity,
      requestId: randomUUID(),
      reason,
    });
  } catch (err) {
    // NOT_FOUND: the execution closed since it was described.
    if ((err as { code?: number }).code === 5)
      throw new WorkflowNotFoundError('the run has closed', workflowId, firstExecutionRunId);
    throw err;
  }
}

/**
 * Starts a run whose id is taken: when what holds the id is a recorded cancel, the run starts so it can be polled,
 * and is cancelled at once (the `cancelledBeforeStart` flag keeps the model from being called even if this process
 * dies before the cancel request is sent). A record still open (its recorder is closing it, or died before it could)
 * is closed here first. Only an execution that did not complete may be replaced, and only when none is open, so of
 * two runs started with one id after a cancel, one starts and the other is refused.
 */
export async function startAfterCancelIntent(
  access: TemporalAccess,
  input: RunInput,
  options: WorkflowStartOptions<RunWorkflow>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const existing = await access.describeRun(input.runId);
    if (!isCancelIntent(existing)) throw new RunIdInUseError(input.runId);
    try {
      if (existing?.status.name === 'RUNNING') await closeCancelIntent(access, input.runId, existing.runId);
      const handle = await access.temporal.workflow.start<RunWorkflow>(RUN_KINDS[input.kind].workflowType, {
        ...options,
        args: [{ ...input, cancelledBeforeStart: true }],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      const reason = existing?.memo?.[CANCEL_REASON_MEMO];
      const cause = `cancelled before it started${typeof reason === 'string' ? `: ${reason}` : ''}`;
      await requestCancel(access, input.runId, handle.firstExecutionRunId, cause);
      await deleteCancelIntent(access, input.runId, existing!.runId);
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw access.unreachableOr(err);
      // Another start replaced the record first (then this one is refused), or is replacing it: look again.
      if (attempt >= CANCEL_INTENT_CHECKS) throw new RunIdInUseError(input.runId);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Deletes a closed cancel record once the run that replaced it has its cancel request: the run's own history says it
 * was cancelled before it started, so the Temporal UI shows the run alone, not a terminated record beside it. Best
 * effort: where the namespace refuses deletes, the record stays, which changes nothing else.
 */
async function deleteCancelIntent(access: TemporalAccess, runId: string, recordRunId: string): Promise<void> {
  try {
    await access.temporal.workflowService.deleteWorkflowExecution({
      namespace: access.temporal.options.namespace,
      workflowExecution: { workflowId: workflowIdForRun(runId), runId: recordRunId },
    });
  } catch {
    // Kept: only the Temporal UI shows it.
  }
}

/** Closes an open cancel record, as its recorder would have; one already closed is left as it is. */
async function closeCancelIntent(access: TemporalAccess, runId: string, recordRunId: string): Promise<void> {
  try {
    await access.runHandle(runId, recordRunId).terminate('kern: cancel requested before the run started');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
