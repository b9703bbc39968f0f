import type { AnyRunOutput } from './run-output';
import { runIdOfWorkflow } from './ids';
import { RUN_RECORD_MEMO, type RunRecord } from './run-record';
import { RUN_INPUT_VERSION, type RunInputOf, type RunKind } from './specs';

/**
 * Reading what Temporal keeps of a run: its input (in the workflow) and its record and output (in the client). Runs
 * saved by older kern versions are read here and nowhere else.
 *
 * Format versions of run inputs: version 1 had no `kind`; version 2 (this kern's, `RUN_INPUT_VERSION`) adds it to
 * inputs, outputs, run records and event sources. Version 1 run records already had it.
 */

/**
 * Reads the input a run was started with, as its workflow receives it: from a client of this kern version, of an
 * older one, or (in a rolling deploy) of a newer one.
 *
 * - Version 1 had no `kind`. The workflow type says what the run is (`agentRun` runs agents), so the kind comes
 *   from there, never from which keys the input has.
 * - A version newer than this worker's, or something that is not a kern run input at all, throws a plain `Error`.
 *   In workflow code that fails the workflow task, not the run: Temporal retries the task, so a worker that can
 *   read the input (a newer one) picks the run up, and the Temporal UI shows the message meanwhile.
 */
export function readRunInput<K extends RunKind>(saved: RunInputOf<K>, kind: K): RunInputOf<K> {
  const found: unknown = saved;
  if (typeof found !== 'object' || found === null || !('version' in found) || typeof found.version !== 'number') {
    throw new Error(`kern cannot read this ${kind} run's input: it has no version, so it is not a kern run input`);
  }
  if (found.version > RUN_INPUT_VERSION || found.version < 1) {
    throw new Error(
      `kern cannot read this ${kind} run's input: it has format version ${found.version}, and this worker reads ` +
        `versions 1 to ${RUN_INPUT_VERSION}. Run it on a worker of the kern version that started it, or a newer one.`,
    );
  }
  if (found.version === 1) return { ...saved, kind };
  if (saved.kind !== kind) {
    throw new Error(
      `kern cannot read this run's input: it is a ${String(saved.kind)} run, given to a ${kind} workflow`,
    );
  }
  return saved;
}

/** What {@link recordOfExecution} reads of an execution: its description, or its row in a listing. */
export interface ExecutionFacts {
  workflowId: string;
  startTime: Date;
  memo?: Record<string, unknown>;
}

/**
 * A run's record, from the memo it was started with; `undefined` for an execution kern did not start. The record of a
 * scheduled run is its schedule's, the same for every firing: its run id and time are this execution's (its workflow
 * id, which Temporal gives each firing, and its start), as the run's workflow takes them (`runInputOf`).
 */
export function recordOfExecution(execution: ExecutionFacts | undefined): RunRecord | undefined {
  const saved = execution?.memo?.[RUN_RECORD_MEMO];
  if (typeof saved !== 'object' || saved === null || !('kind' in saved)) return undefined;
  const record = saved as RunRecord;
  if (record.scheduleId === undefined) return record;
  return {
    ...record,
    runId: runIdOfWorkflow(execution!.workflowId) ?? record.runId,
    createdAt: execution!.startTime.toISOString(),
  };
}

/**
 * A closed run's output as Temporal kept it (its workflow result, or its final-output memo). Outputs saved before
 * version 2 have no `kind`: the run's record says it. (Their member and step outputs stay without one.)
 */
export function readRunOutput(saved: unknown, record: RunRecord): AnyRunOutput {
  return { ...(saved as AnyRunOutput), kind: record.kind } as AnyRunOutput;
}
