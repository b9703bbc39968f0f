import type { AnyRunOutput } from './run-output';
import { runIdOfWorkflow } from './ids';
import type { RunKind } from './kinds';
import { unreachable } from './never';
import { RUN_RECORD_MEMO, type RunRecord } from './run-record';
import {
  RUN_INPUT_VERSION,
  type AgentSpec,
  type MemberSpec,
  type ModelComponentSpec,
  type RunInput,
  type RunInputBase,
  type RunInputOf,
  type StepSpec,
  type TeamMode,
  type TeamSpec,
  type WorkflowSpec,
} from './specs';

/**
 * Reading what Temporal keeps of a run: its input (in the workflow) and its record and output (in the client). Runs
 * saved by older kern versions are read here and nowhere else. The format versions are listed at `RUN_INPUT_VERSION`.
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
export function readRunInput<K extends RunKind>(saved: unknown, kind: K): RunInputOf<K> {
  if (typeof saved !== 'object' || saved === null || !('version' in saved) || typeof saved.version !== 'number') {
    throw new Error(`kern cannot read this ${kind} run's input: it has no version, so it is not a kern run input`);
  }
  const version = saved.version;
  if (version > RUN_INPUT_VERSION || version < 1) {
    throw new Error(
      `kern cannot read this ${kind} run's input: it has format version ${version}, and this worker reads ` +
        `versions 1 to ${RUN_INPUT_VERSION}. Run it on a worker of the kern version that started it, or a newer one.`,
    );
  }
  const found = (version === 1 ? { ...saved, kind } : saved) as SavedRunInput | RunInput;
  if (found.kind !== kind) {
    throw new Error(
      `kern cannot read this run's input: it is a ${String(found.kind)} run, given to a ${kind} workflow`,
    );
  }
  const input = version < 7 ? withKindedSpecs(found as SavedRunInput) : (found as RunInput);
  return input as RunInputOf<K>;
}

/**
 * The specs of runs saved before format 7, which had no `kind` of their own: a team's members were
 * `{ kind, agent | team }`, and a workflow's agent and team steps had `agent` or `team`.
 */
type SavedModelSpec = Omit<ModelComponentSpec, 'kind'>;
type SavedTeamSpec = SavedModelSpec & { mode: TeamMode; members: SavedMemberSpec[] };
type SavedMemberSpec = { kind: 'agent'; agent: SavedModelSpec } | { kind: 'team'; team: SavedTeamSpec };
type SavedStepSpec =
  | {
      type: 'step';
      name: string;
      agent?: SavedModelSpec;
      team?: SavedTeamSpec;
      executor?: string;
      maxRetries?: number;
      skipOnFailure?: boolean;
    }
  | { type: 'steps' | 'parallel'; name: string; steps: SavedStepSpec[] }
  | { type: 'condition'; name: string; evaluator: string; steps: SavedStepSpec[]; elseSteps?: SavedStepSpec[] }
  | { type: 'loop'; name: string; steps: SavedStepSpec[]; maxIterations: number; endCondition?: string }
  | { type: 'router'; name: string; selector: string; choices: SavedStepSpec[] };
type SavedRunInput = RunInputBase &
  (
    | { kind: 'agent'; agent: SavedModelSpec }
    | { kind: 'team'; team: SavedTeamSpec }
    | { kind: 'workflow'; workflow: Omit<WorkflowSpec, 'kind' | 'steps'> & { steps: SavedStepSpec[] } }
  );

/** A run input saved before format 7, with every spec carrying its kind (the shape format 7 writes). */
function withKindedSpecs(input: SavedRunInput): RunInput {
  switch (input.kind) {
    case 'agent':
      return { ...input, agent: agentSpec(input.agent) };
    case 'team':
      return { ...input, team: teamSpec(input.team) };
    case 'workflow':
      return { ...input, workflow: { ...input.workflow, kind: 'workflow', steps: input.workflow.steps.map(stepSpec) } };
    default:
      return unreachable(input, 'saved run input');
  }
}

function agentSpec(saved: SavedModelSpec): AgentSpec {
  return { ...saved, kind: 'agent' };
}

function teamSpec(saved: SavedTeamSpec): TeamSpec {
  return {
    ...saved,
    kind: 'team',
    members: saved.members.map(memberSpec),
  };
}

function memberSpec(saved: SavedMemberSpec): MemberSpec {
  switch (saved.kind) {
    case 'agent':
      return agentSpec(saved.agent);
    case 'team':
      return teamSpec(saved.team);
    default:
      return unreachable(saved, 'saved member');
  }
}

function stepSpec(saved: SavedStepSpec): StepSpec {
  switch (saved.type) {
    case 'step': {
      const { agent, team, ...step } = saved;
      const component = agent ? agentSpec(agent) : team ? teamSpec(team) : undefined;
      return { ...step, ...(component ? { component } : {}) };
    }
    case 'steps':
    case 'parallel':
    case 'loop':
      return { ...saved, steps: saved.steps.map(stepSpec) };
    case 'condition':
      return {
        ...saved,
        steps: saved.steps.map(stepSpec),
        ...(saved.elseSteps ? { elseSteps: saved.elseSteps.map(stepSpec) } : {}),
      };
    case 'router':
      return { ...saved, choices: saved.choices.map(stepSpec) };
    default:
      return unreachable(saved, 'saved step');
  }
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
