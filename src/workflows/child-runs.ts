import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  executeChild,
  getExternalWorkflowHandle,
  startChild,
  uuid4,
  workflowInfo,
  type ChildWorkflowOptions,
  type WithWorkflowArgs,
} from '@temporalio/workflow';
import { workflowIdForRun } from '../shared/ids';
import { RUN_RECORD_MEMO, runRecordOf } from '../shared/run-record';
import type { RunOutput, TeamRunOutput } from '../shared/run-output';
import { runSearchAttributes } from '../shared/search-attributes';
import { sessionStateChanges, type SessionState } from '../shared/sessions';
import { RUN_KINDS } from '../shared/kinds';
import {
  RUN_INPUT_VERSION,
  type AgentRunInput,
  type MemberSpec,
  type RunInput,
  type TeamRunInput,
} from '../shared/specs';
import { runDetails, runSummary } from '../shared/run-labels';
import { unreachable } from '../shared/never';
import { hasPatch } from './patches';

/** The input of a child run: an agent's or a team's. */
export type ChildRunInput = AgentRunInput | TeamRunInput;

/**
 * The input of a child run: a new run id, the parent's session and user (and its session state as it stands), the
 * parent as `parentRunId`, and the parent's stream (and its ancestors') to forward events to.
 */
export function childRunInput(
  parent: RunInput,
  child: MemberSpec,
  task: string,
  roleInParent: string,
  sessionState: SessionState | undefined,
): ChildRunInput {
  const base = {
    version: RUN_INPUT_VERSION,
    runId: uuid4(),
    sessionId: parent.sessionId,
    ...(parent.userId !== undefined ? { userId: parent.userId } : {}),
    parentRunId: parent.runId,
    input: task,
    createdAt: new Date().toISOString(),
    forwardEventsTo: [workflowInfo().workflowId, ...(parent.forwardEventsTo ?? [])],
    ...(parent.liveStream ? { liveStream: true } : {}),
    roleInParent,
    ...(sessionState !== undefined ? { sessionState } : {}),
  };
  switch (child.kind) {
    case 'agent':
      return { ...base, kind: 'agent', agent: child };
    case 'team':
      return { ...base, kind: 'team', team: child };
    default:
      return unreachable(child, 'member spec');
  }
}

/**
 * Runs started before this patch cancelled a child through the scope that started it. A cancel that arrived while the
 * child was being started could be lost (the child was not found yet, and the cancel was never sent again), so the
 * child ran to its end; or the start was withdrawn, and the parent waited for a child that never existed.
 */
const CANCEL_AFTER_START = 'kern-child-cancel-after-start';

/** Runs started before this patch cancelled a child's first execution, which misses a child that continued as new. */
const CANCEL_REACHES_CONTINUED_CHILD = 'kern-child-cancel-by-workflow-id';

type ChildRunOutput = RunOutput | TeamRunOutput;
type ChildRun = (input: ChildRunInput) => Promise<ChildRunOutput>;

/**
 * Runs a child as a child workflow and returns its output; rejects with a `ChildWorkflowFailure` when it fails or
 * is cancelled, and with a `CancelledFailure` when the caller's scope was cancelled before the child was started.
 * `onStart` is called as the child is about to be started (not at all if it never is).
 *
 * A cancel of the caller's scope reaches the child once it has started, and the caller waits for the child to end,
 * so a child's model request is aborted and its last events are in before the parent ends. The start itself is not
 * cancellable: a child is either never started, or started and then cancelled, never lost in between. A parent that
 * closes otherwise has its open children cancelled (the parent close policy).
 */
export function runChild(childInput: ChildRunInput, onStart: () => void = () => {}): Promise<ChildRunOutput> {
  const record = runRecordOf(childInput);
  const options: WithWorkflowArgs<ChildRun, ChildWorkflowOptions> = {
    workflowId: workflowIdForRun(childInput.runId),
    args: [childInput],
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: runSearchAttributes(record),
    memo: { [RUN_RECORD_MEMO]: record },
    staticSummary: runSummary(record, childInput.roleInParent),
    staticDetails: runDetails(record, { namespace: workflowInfo().namespace, roleInParent: childInput.roleInParent }),
  };
  const type = RUN_KINDS[childInput.kind].workflowType;
  if (!hasPatch(CANCEL_AFTER_START)) {
    onStart();
    return executeChild<ChildRun>(type, options);
  }
  const caller = CancellationScope.current();
  if (caller.consideredCancelled) return caller.cancelRequested;
  onStart();
  return CancellationScope.nonCancellable(async () => {
    const child = await startChild<ChildRun>(type, options);
    caller.cancelRequested.catch(() =>
      // The child may have ended in the meantime: then there is nothing to cancel. Its workflow id names it alone;
      // its first execution's run id would miss it once it has continued as new (asked only when a cancel comes).
      getExternalWorkflowHandle(
        child.workflowId,
        hasPatch(CANCEL_REACHES_CONTINUED_CHILD) ? undefined : child.firstExecutionRunId,
      )
        .cancel()
        .catch(() => undefined),
    );
    return child.result();
  });
}

/**
 * What a child run changed in the session state it was started with. The parent applies it when the child ends, so
 * two members' changes to different keys both stay, and for one key the member that ended last wins.
 */
export function childSessionChanges(childInput: ChildRunInput, output: ChildRunOutput) {
  return output.sessionState ? sessionStateChanges(childInput.sessionState ?? {}, output.sessionState) : undefined;
}
