import {
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  executeChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { workflowIdForRun } from '../shared/ids';
import { RUN_RECORD_MEMO, runRecordOf } from '../shared/run-record';
import type { RunOutput, TeamRunOutput } from '../shared/run-output';
import { runSearchAttributes } from '../shared/search-attributes';
import {
  RUN_INPUT_VERSION,
  RUN_WORKFLOW_TYPES,
  type AgentRunInput,
  type MemberSpec,
  type RunInput,
  type TeamRunInput,
} from '../shared/specs';
import { runDetails, runSummary } from '../shared/run-labels';

/** The input of a child run: an agent's or a team's. */
export type ChildRunInput = AgentRunInput | TeamRunInput;

/**
 * The input of a child run: a new run id, the parent's session and user, the parent as `parentRunId`, and the
 * parent's stream (and its ancestors') to forward events to.
 */
export function childRunInput(parent: RunInput, child: MemberSpec, task: string, roleInParent: string): ChildRunInput {
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
  };
  return child.kind === 'team'
    ? { ...base, kind: 'team', team: child.team }
    : { ...base, kind: 'agent', agent: child.agent };
}

/**
 * Runs a child as a child workflow and returns its output; rejects with a `ChildWorkflowFailure` when it fails or
 * is cancelled. A cancelled parent cancels the child and waits for it, so its model request is aborted before the
 * parent ends; a parent that closes otherwise has its open children cancelled.
 */
export function runChild(childInput: ChildRunInput): Promise<RunOutput | TeamRunOutput> {
  const record = runRecordOf(childInput);
  return executeChild<(input: ChildRunInput) => Promise<RunOutput | TeamRunOutput>>(
    RUN_WORKFLOW_TYPES[childInput.kind],
    {
      workflowId: workflowIdForRun(childInput.runId),
      args: [childInput],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: runSearchAttributes(record),
      memo: { [RUN_RECORD_MEMO]: record },
      staticSummary: runSummary(record, childInput.roleInParent),
      staticDetails: runDetails(record, { namespace: workflowInfo().namespace, roleInParent: childInput.roleInParent }),
    },
  );
}
