import { setMaxListeners } from 'node:events';
import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import type { RunRequirement } from '../shared/requirements';
import { FINAL_OUTPUT_MEMO, PAUSE_MEMO, runOutputQuery } from '../shared/messages';
import { outputFromRecord, type RunRecord } from '../shared/run-record';
import type { AnyRunOutput } from '../shared/run-output';
import { readRunOutput, recordOfExecution } from '../shared/saved-runs';
import { kernStatusKey } from '../shared/search-attributes';
import { QUERY_TIMEOUT_MS, firstRunIdOf, type RunWorkflow, type TemporalAccess } from './temporal-access';

/**
 * Reading a run's output: from its worker while it runs, from what Temporal recorded once it has closed. Which copy
 * of a run's status wins when is written at `runLifecycle` (workflows/run-lifecycle.ts).
 */

/** How often {@link waitForRunOrPause} looks whether the run has paused. */
const PAUSE_CHECK_INTERVAL_MS = 500;

/** How long a wait lasts: until the run ends (or pauses), or until `signal` aborts (then it fails with its reason). */
export interface WaitOptions {
  signal?: AbortSignal;
}

/** See {@link KernClient.getRunOutput}. */
export async function getRunOutput(access: TemporalAccess, runId: string): Promise<AnyRunOutput | null> {
  const description = await access.describeRun(runId);
  const record = recordOfExecution(description);
  if (!description || !record) return null;
  const handle = access.runHandle(runId, description.runId);
  const savedOutput = description.memo?.[FINAL_OUTPUT_MEMO];
  const finalOutput = savedOutput === undefined ? undefined : readRunOutput(savedOutput, record);

  switch (description.status.name) {
    case 'RUNNING': {
      const kernStatus = description.typedSearchAttributes.get(kernStatusKey);
      if (kernStatus === RunStatus.pending) return outputFromRecord(record);
      // No worker answered in time (all down, or busy): what history records answers instead.
      const live = await queryOutput(access, handle, firstRunIdOf(description) !== description.runId);
      if (live) return live;
      // A paused run's memo says what it waits for.
      const pause = description.memo?.[PAUSE_MEMO] as { requirements?: RunRequirement[] } | undefined;
      if (kernStatus === RunStatus.paused && pause?.requirements) {
        return { ...outputFromRecord(record, RunStatus.paused), requirements: pause.requirements };
      }
      return outputFromRecord(record, RunStatus.running);
    }
    case 'COMPLETED':
      try {
        return readRunOutput(await handle.result(), record);
      } catch (err) {
        // Deleted since it was described (its session was deleted): no run by that id any more.
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    case 'CANCELLED':
      return finalOutput ?? outputFromRecord(record, RunStatus.cancelled);
    case 'FAILED':
      return finalOutput ?? endedWith(record, 'RunFailed', 'the run failed');
    case 'TERMINATED':
      return endedWith(record, 'RunTerminated', 'the run was terminated in Temporal');
    case 'TIMED_OUT':
      return endedWith(record, 'RunTimedOut', 'the run timed out in Temporal');
    default:
      return endedWith(record, 'RunEnded', `the run ended as ${description.status.name}`);
  }
}

/** See {@link KernClient.peekRun}. */
export async function peekRun(access: TemporalAccess, runId: string): Promise<AnyRunOutput | null> {
  const description = await access.describeRun(runId);
  const record = recordOfExecution(description);
  if (!description || !record) return null;
  const kernStatus = description.typedSearchAttributes.get(kernStatusKey) as RunStatus | undefined;
  if (description.status.name === 'RUNNING') return outputFromRecord(record, kernStatus ?? RunStatus.running);
  // Every way a run ends sets its KernStatus first; a run Temporal ended on its own (terminated) did not.
  if (kernStatus && isTerminalStatus(kernStatus)) return outputFromRecord(record, kernStatus);
  return outputFromRecord(record, description.status.name === 'CANCELLED' ? RunStatus.cancelled : RunStatus.error);
}

/** See {@link KernClient.waitForRun}. */
export async function waitForRun(
  access: TemporalAccess,
  runId: string,
  options: WaitOptions = {},
): Promise<AnyRunOutput> {
  const { signal } = options;
  signal?.throwIfAborted();
  // The wait's long polls each listen to the signal, and never stop listening: they listen to one of the wait's own.
  const polls = new AbortController();
  setMaxListeners(Infinity, polls.signal);
  const stop = () => polls.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const result = () => access.runHandle(runId).result();
    return await (signal ? access.temporal.connection.withAbortSignal(polls.signal, result) : result());
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (!(err instanceof WorkflowFailedError)) throw access.unreachableOr(err);
    const output = await getRunOutput(access, runId);
    if (!output) throw err;
    return output;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/** See {@link KernClient.waitForRunOrPause}. */
export async function waitForRunOrPause(
  access: TemporalAccess,
  runId: string,
  options: WaitOptions = {},
): Promise<AnyRunOutput> {
  const result = waitForRun(access, runId, options);
  // Kept from failing unheard while this looks for a pause; the caller awaits it below when the run ends.
  result.catch(() => undefined);
  for (;;) {
    const ended = await Promise.race([
      result.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), PAUSE_CHECK_INTERVAL_MS)),
    ]);
    // Aborted: `result` has failed with the signal's reason.
    if (ended || options.signal?.aborted) return result;
    const description = await access.describeRun(runId);
    if (description?.typedSearchAttributes.get(kernStatusKey) !== RunStatus.paused) continue;
    const output = await getRunOutput(access, runId);
    if (output?.status === RunStatus.paused) return output;
  }
}

/**
 * The output of a running run, as its worker answers; `undefined` when no worker answered within
 * {@link QUERY_TIMEOUT_MS}. An execution that has just taken over from the last (the run continued as new) answers
 * only once its first workflow task has run, a moment later: it is asked again until then, within the same time.
 */
async function queryOutput(
  access: TemporalAccess,
  handle: WorkflowHandle<RunWorkflow>,
  laterExecution: boolean,
): Promise<AnyRunOutput | undefined> {
  const deadline = Date.now() + QUERY_TIMEOUT_MS;
  for (;;) {
    const live = await access.queryWithin(
      Math.max(deadline - Date.now(), 1),
      () => handle.query(runOutputQuery),
      () => undefined,
    );
    if (live || !laterExecution || Date.now() + LATER_EXECUTION_RETRY_MS >= deadline) return live;
    await new Promise((resolve) => setTimeout(resolve, LATER_EXECUTION_RETRY_MS));
  }
}

/** How often a poll asks an execution that has just taken over again. */
const LATER_EXECUTION_RETRY_MS = 50;

/** The output of a run that ended without kern's finish: its record, and why it ended. */
function endedWith(record: RunRecord, type: string, message: string): AnyRunOutput {
  return { ...outputFromRecord(record, RunStatus.error), error: { type, message } };
}
