import { emptyMetrics, type AnyRunOutput } from './run-output';
import { RunStatus } from './run-status';
import { componentOf, kindOf, type RunInput, type RunKind } from './specs';

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
}

export function runRecordOf(input: RunInput): RunRecord {
  const component = componentOf(input);
  return {
    kind: kindOf(input),
    runId: input.runId,
    sessionId: input.sessionId,
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    ...(input.parentRunId !== undefined ? { parentRunId: input.parentRunId } : {}),
    componentId: component.id,
    componentName: component.name,
    input: input.input,
    model: component.modelId,
    createdAt: input.createdAt,
  };
}

/** The output of a run that no worker has started yet, or whose worker cannot be asked. */
export function outputFromRecord(record: RunRecord, status: RunStatus = RunStatus.pending): AnyRunOutput {
  const identity =
    record.kind === 'workflow'
      ? { workflowId: record.componentId, workflowName: record.componentName, stepResults: [] }
      : record.kind === 'team'
        ? { teamId: record.componentId, teamName: record.componentName, memberResponses: [] }
        : { agentId: record.componentId, agentName: record.componentName };
  return {
    runId: record.runId,
    sessionId: record.sessionId,
    ...(record.userId !== undefined ? { userId: record.userId } : {}),
    ...(record.parentRunId !== undefined ? { parentRunId: record.parentRunId } : {}),
    ...identity,
    status,
    content: null,
    input: record.input,
    model: record.model,
    messages: [{ role: 'user', content: record.input }],
    tools: [],
    metrics: emptyMetrics(),
    createdAt: record.createdAt,
    updatedAt: record.createdAt,
  };
}
