import { workflowInfo } from '@temporalio/workflow';
import { runIdOfWorkflow } from '../shared/ids';
import { readRunInput } from '../shared/saved-runs';
import type { RunInputOf, RunKind } from '../shared/specs';
import { takeRunFormat } from './patches';

/**
 * The input a run's workflow runs with (see `readRunInput`). A schedule starts every firing with the same input, so
 * a scheduled run takes its own id from its workflow id, which Temporal makes for each firing from the schedule's and
 * the firing's time, and its `createdAt` from its start: the facts the client reads from the execution too
 * (`recordOfExecution`). The run's format also says which of kern's workflow code changes it takes (`hasPatch`).
 */
export function runInputOf<K extends RunKind>(saved: RunInputOf<K>, kind: K): RunInputOf<K> {
  const input = readRunInput(saved, kind);
  takeRunFormat(input.version);
  // A run that continued as new carries the id and time its first execution took.
  if (input.scheduleId === undefined || input.continued) return input;
  const info = workflowInfo();
  return { ...input, runId: runIdOfWorkflow(info.workflowId) ?? input.runId, createdAt: info.startTime.toISOString() };
}
