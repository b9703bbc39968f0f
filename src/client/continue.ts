import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import { RequirementAnswersInvalid, RunNotFound, RunNotPaused } from '../shared/errors';
import { workflowIdForRun } from '../shared/ids';
import { continueRunUpdate } from '../shared/messages';
import {
  ANSWERS_INVALID,
  RUN_NOT_PAUSED,
  answersProblem,
  type ContinueRequest,
  type RequirementAnswer,
} from '../shared/requirements';
import { RunStatus } from '../shared/run-status';
import { getRunOutput } from './run-outputs';
import { QUERY_TIMEOUT_MS, isTemporalUnavailable, type TemporalAccess } from './temporal-access';

/** Answering what a paused run waits for: each answer goes to the run (member or step run) that waits for it. */

/** See {@link KernClient.continueRun}. */
export async function continueRun(
  access: TemporalAccess,
  runId: string,
  request: ContinueRequest,
): Promise<{ fromIndex: number }> {
  const output = await getRunOutput(access, runId);
  if (!output) throw new RunNotFound(runId);
  if (output.status !== RunStatus.paused || !output.requirements) {
    throw new RunNotPaused(runId, `it is ${output.status}`);
  }
  const open = output.requirements;
  const answers: RequirementAnswer[] = Array.isArray(request?.requirements) ? request.requirements : [];
  const problem = answersProblem(open, answers);
  if (problem) throw new RequirementAnswersInvalid(problem);
  const byRun = new Map<string, RequirementAnswer[]>();
  for (const answer of answers) {
    const owner = open.find((requirement) => requirement.id === answer.id)!.runId;
    byRun.set(owner, [...(byRun.get(owner) ?? []), answer]);
  }
  const fromIndex = await streamOffset(access, runId);
  await Promise.all(
    [...byRun].map(async ([owner, ownAnswers]) => {
      try {
        await access.runHandle(owner).executeUpdate(continueRunUpdate, { args: [{ requirements: ownAnswers }] });
      } catch (err) {
        throw continueRefusal(access, owner, err);
      }
    }),
  );
  // The run above the members sees them go on by their forwarded events: wait until it shows the answers taken.
  if ([...byRun.keys()].some((owner) => owner !== runId)) await untilTaken(access, runId, answers);
  return { fromIndex };
}

/**
 * Where the run's stream stands now (the index its next event gets), by query: a paused run publishes nothing
 * until it goes on. With no worker answering, it asks again until one does (`continueRun` needs one anyway).
 */
async function streamOffset(access: TemporalAccess, runId: string): Promise<number> {
  const stream = WorkflowStreamClient.create(access.temporal, workflowIdForRun(runId));
  const noAnswer = (err: unknown) => {
    if (isTemporalUnavailable(err)) throw access.unreachableOr(err);
    if (err instanceof WorkflowNotFoundError) throw new RunNotFound(runId);
    return undefined;
  };
  for (;;) {
    const offset = await access.queryWithin(QUERY_TIMEOUT_MS, () => stream.getOffset(), noAnswer);
    if (offset !== undefined) return offset;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The error a refused `continueRun` update says it is. */
function continueRefusal(access: TemporalAccess, runId: string, err: unknown): unknown {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  const failure = cause instanceof ApplicationFailure ? cause : undefined;
  if (failure?.type === RUN_NOT_PAUSED) return new RunNotPaused(runId, failure.message);
  if (failure?.type === ANSWERS_INVALID) return new RequirementAnswersInvalid(failure.message);
  if (err instanceof WorkflowNotFoundError) return new RunNotPaused(runId, 'it has ended');
  return access.unreachableOr(err);
}

/** Waits (up to 10 s) until run `runId` no longer waits for any of `answers`. */
async function untilTaken(access: TemporalAccess, runId: string, answers: RequirementAnswer[]): Promise<void> {
  const ids = new Set(answers.map((answer) => answer.id));
  for (let attempt = 0; attempt < 200; attempt++) {
    const output = await getRunOutput(access, runId);
    if (!output?.requirements?.some((requirement) => ids.has(requirement.id))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
