import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { workflowIdForRun } from '../shared/ids';
import { RUN_KINDS } from '../shared/kinds';
import { RUN_RECORD_MEMO, runRecordOf, type RunRecord } from '../shared/run-record';
import { runDetails, runSummary } from '../shared/run-labels';
import { runSearchAttributes } from '../shared/search-attributes';
import { SESSION_START_DELAY, SESSION_WORKFLOW_TYPE, sessionWorkflowOptions } from '../shared/session-workflow';
import { newSession } from '../shared/sessions';
import type { RunInput } from '../shared/specs';
import { startAfterCancelIntent } from './cancel';
import type { RunWorkflow, TemporalAccess } from './temporal-access';

/** Starting runs, and the session each run's session id names. */

/** See {@link KernClient.startRun}. */
export async function startRun(access: TemporalAccess, given: RunInput): Promise<void> {
  const input = withStoreMark(access.temporal, given);
  const record = runRecordOf(input);
  const options = {
    workflowId: workflowIdForRun(input.runId),
    taskQueue: access.taskQueue,
    args: [input] as [RunInput],
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    typedSearchAttributes: runSearchAttributes(record),
    memo: { [RUN_RECORD_MEMO]: record },
    staticSummary: runSummary(record),
    staticDetails: runDetails(record, { namespace: access.temporal.options.namespace }),
  };
  const start = async () => {
    try {
      await access.temporal.workflow.start<RunWorkflow>(RUN_KINDS[input.kind].workflowType, options);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw access.unreachableOr(err);
      await startAfterCancelIntent(access, input, options);
    }
  };
  // Side by side: a run in a session that exists costs one more request, which the server answers at once.
  const [run, session] = await Promise.allSettled([
    start(),
    input.parentRunId === undefined ? startSession(access, record) : Promise.resolve(),
  ]);
  if (run.status === 'rejected') throw run.reason;
  if (session.status === 'rejected') throw access.unreachableOr(session.reason);
}

/**
 * The input of a run started through `temporal`: marked `payloadsStored` when its data converter keeps large payloads
 * outside history, so that the run's output may pass Temporal's payload limit.
 */
export function withStoreMark<Input extends RunInput>(temporal: Client, input: Input): Input {
  return temporal.options.loadedDataConverter.externalStorage !== undefined
    ? { ...input, payloadsStored: true }
    : input;
}

/** See {@link KernClient.startSession}. */
export async function startSession(access: TemporalAccess, record: RunRecord): Promise<void> {
  const session = newSession(record.sessionId, record.createdAt, record.userId);
  await access.temporal.workflow.start(SESSION_WORKFLOW_TYPE, {
    ...sessionWorkflowOptions(session, access.taskQueue, { componentId: record.componentId, input: record.input }),
    workflowIdConflictPolicy: 'USE_EXISTING',
    // It runs no workflow task until a run writes to it: a session nothing writes to costs no worker anything.
    startDelay: SESSION_START_DELAY,
  });
}
