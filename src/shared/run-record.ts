import { emptyMetrics, type AnyRunOutput, type RunOutputBase, type RunOutputOf } from './run-output';
import type { RunSeed } from './forks';
import { RunStatus } from './run-status';
import { componentOf, modelIdOf, type RunInput, type RunKind } from './specs';

/** Memo key of the {@link RunRecord} every kern run is started with. */
export const RUN_RECORD_MEMO = 'kernRun';

/** What a run's memo says about it from the start: enough to answer a poll before any worker has run it. */
export interface RunRecord {
  kind: RunKind;
  runId: string;
  sessionId: string;
  userId?: string;
  parentRunId?: string;
  componentId: string;
  componentName: string;
  input: string;
  model: string;
  createdAt: string;
  /**
   * The schedule that starts this run: then the record is the schedule's, written once for all its runs, and a run's
   * own id and time come from its execution (see `recordOfExecution`).
   */
  scheduleId?: string;
  /** A fork or regenerate: the run it started from (see `RunInputBase.seed`). */
  forkedFrom?: RunOutputBase['forkedFrom'];
}

export function runRecordOf(input: RunInput): RunRecord {
  const component = componentOf(input);
  return {
    kind: input.kind,
    runId: input.runId,
    sessionId: input.sessionId,
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    ...(input.parentRunId !== undefined ? { parentRunId: input.parentRunId } : {}),
    componentId: component.id,
    componentName: component.name,
    input: input.input,
    model: modelIdOf(input),
    createdAt: input.createdAt,
    ...(input.scheduleId !== undefined ? { scheduleId: input.scheduleId } : {}),
    ...(input.seed !== undefined ? { forkedFrom: forkedFromOf(input.seed) } : {}),
  };
}

function forkedFromOf(seed: RunSeed): NonNullable<RunRecord['forkedFrom']> {
  return { runId: seed.fromRunId, messageIndex: seed.messageIndex, ...(seed.regenerate ? { regenerate: true } : {}) };
}

/** The fields of a run's output that its record gives, before anything has run. */
function outputBase(record: RunRecord, status: RunStatus): RunOutputBase {
  return {
    runId: record.runId,
    sessionId: record.sessionId,
    ...(record.userId !== undefined ? { userId: record.userId } : {}),
    ...(record.parentRunId !== undefined ? { parentRunId: record.parentRunId } : {}),
    status,
    content: null,
    input: record.input,
    model: record.model,
    messages: [{ role: 'user', content: record.input }],
    tools: [],
    metrics: emptyMetrics(),
    ...(record.forkedFrom !== undefined ? { forkedFrom: record.forkedFrom } : {}),
    createdAt: record.createdAt,
    updatedAt: record.createdAt,
  };
}

/** The output of a run that has not run yet (or whose worker cannot be asked), for each kind of run. */
export const outputFromRecordOf = {
  agent: (record: RunRecord, status: RunStatus = RunStatus.pending): RunOutputOf<'agent'> => ({
    ...outputBase(record, status),
    kind: 'agent',
    agentId: record.componentId,
    agentName: record.componentName,
  }),
  team: (record: RunRecord, status: RunStatus = RunStatus.pending): RunOutputOf<'team'> => ({
    ...outputBase(record, status),
    kind: 'team',
    teamId: record.componentId,
    teamName: record.componentName,
    memberResponses: [],
  }),
  workflow: (record: RunRecord, status: RunStatus = RunStatus.pending): RunOutputOf<'workflow'> => ({
    ...outputBase(record, status),
    kind: 'workflow',
    workflowId: record.componentId,
    workflowName: record.componentName,
    stepResults: [],
  }),
} as const;

/** The output of a run that has not run yet, or whose worker cannot be asked: what its record says. */
export function outputFromRecord(record: RunRecord, status: RunStatus = RunStatus.pending): AnyRunOutput {
  return outputFromRecordOf[record.kind](record, status);
}
