import type { WorkflowStreamState } from '@temporalio/workflow-streams/workflow';
import type { RunSeed } from './forks';
import type { RunKind } from './kinds';
import { unreachable } from './never';
import type { RequirementNeed, UserInputField } from './requirements';
import type { AnyRunOutput, StepOutput } from './run-output';
import type { StepFunctionResult } from './step-functions';
import type { SessionState } from './sessions';

export type { RunKind } from './kinds';

/**
 * The resolved definitions a run carries in its workflow input, so a running run never depends on a config that
 * changed after it started, and the Temporal UI shows what ran. Plain data only: no functions, no secrets.
 */

/** Which OpenAI protocol a model speaks. */
export type ModelProvider = 'openai-responses' | 'openai-chat';

/** A model: provider protocol, model id and request settings. The API key is never part of it. */
export interface ModelSpec {
  provider: ModelProvider;
  id: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** Ask the provider to stream; kern then heartbeats per chunk and can abort mid-answer. Default true. */
  stream?: boolean;
}

/** A tool as the model sees it. The implementation is registered on the worker under the same name. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
  /** A call of this tool pauses the run until a person answers (`requiresConfirmation`, …); absent: it just runs. */
  needs?: RequirementNeed;
  /** For `needs: 'userInput'`: the fields the person fills in (the model never sees them). */
  userInputFields?: UserInputField[];
  /** A tool of this MCP server (listed by the run when it starts), called over MCP. */
  mcpServer?: string;
}

/**
 * The tools of one MCP server that a model is offered (`mcpServers` of an agent): the server by its name in the app
 * (`defineApp({ mcpServers })`, where the worker finds how to reach it: no address, command or header is in a run),
 * which of its tools (all, or `include`, less `exclude`), and which wait for a person's confirmation.
 */
export interface McpToolSource {
  server: string;
  include?: string[];
  exclude?: string[];
  requiresConfirmation?: string[];
}

/** What an agent and a team's leader both are: a model with instructions, resolved to data. */
export interface ModelComponentSpec {
  id: string;
  name: string;
  description?: string;
  role?: string;
  instructions: string[];
  model: ModelSpec;
  /** The model's tools (a team's leader also gets its delegation tool). */
  tools: ToolSpec[];
  /** How many model → tools rounds one run may take before it ends `ERROR`. */
  maxToolRounds: number;
  /** Keep every event on the final output (`events`). */
  storeEvents?: boolean;
  /** Put this many earlier runs of the session before the input (`addHistoryToContext`); absent: none. */
  numHistoryRuns?: number;
  /** How long a paused run waits for a person, in milliseconds, before it ends `ERROR`; absent: for ever. */
  pauseTimeoutMs?: number;
  /** The shape of the answer (`outputSchema`): the model answers JSON, and the run's content is the parsed value. */
  outputSchema?: OutputSchemaSpec;
  /** MCP servers whose tools the model is offered besides `tools`, listed by each run when it starts. */
  mcp?: McpToolSource[];
}

/** A structured answer's shape: a JSON schema and the name the model is told (the framework's `content_type`). */
export interface OutputSchemaSpec {
  name: string;
  schema: Record<string, unknown>;
}

/** An agent, resolved to data. */
export interface AgentSpec extends ModelComponentSpec {
  kind: 'agent';
}

/** How a team's leader works with its members. */
export type TeamMode = 'coordinate' | 'route' | 'broadcast';

/** A team member, or an agent or team step of a workflow: what runs as a child run. Its `kind` says which. */
export type MemberSpec = AgentSpec | TeamSpec;

/** A team, resolved to data: its leader's settings and its members. */
export interface TeamSpec extends ModelComponentSpec {
  kind: 'team';
  mode: TeamMode;
  members: MemberSpec[];
}

/** A step of a workflow, resolved to data. Functions are named: the worker runs the one registered under the name. */
export type StepSpec =
  | {
      type: 'step';
      name: string;
      /** The agent or team the step runs (as a child run); absent for a function step. */
      component?: MemberSpec;
      /** The name of a function registered on the worker (`defineApp({ workflows })`). */
      executor?: string;
      /** Extra attempts for a function step that throws (default 0). */
      maxRetries?: number;
      /** A step that still fails is recorded as failed and the workflow goes on. */
      skipOnFailure?: boolean;
    }
  | { type: 'steps'; name: string; steps: StepSpec[] }
  | { type: 'parallel'; name: string; steps: StepSpec[] }
  | { type: 'condition'; name: string; evaluator: string; steps: StepSpec[]; elseSteps?: StepSpec[] }
  | { type: 'loop'; name: string; steps: StepSpec[]; maxIterations: number; endCondition?: string }
  | { type: 'router'; name: string; selector: string; choices: StepSpec[] };

/** A workflow of steps, resolved to data. */
export interface WorkflowSpec {
  kind: 'workflow';
  id: string;
  name: string;
  description?: string;
  steps: StepSpec[];
  storeEvents?: boolean;
}

/** The agent, team or workflow a run runs, resolved to data; its `kind` says which. */
export type ComponentSpec = AgentSpec | TeamSpec | WorkflowSpec;

/**
 * The run input format this kern writes, and the newest it reads. Version 1 had no `kind`; version 2 adds it; version 3
 * adds the session fields (`sessionState`, `readSession`); version 4 adds tools that need a person (`ToolSpec.needs`)
 * and `pauseTimeoutMs`; version 5 adds structured answers (`outputSchema`); version 6 adds scheduled runs
 * (`scheduleId`); version 7 has every spec carry its `kind`, so a team's members and a workflow's agent and team steps
 * are plain agent and team specs (before, members were `{ kind, agent | team }` and steps had `agent` or `team`);
 * version 8 adds forked runs (`seed`); version 9 adds MCP tools (`mcp`); version 10 is the input of a run's next
 * execution after a continue-as-new (`continued`); version 11 is that of a workflow run of steps (`continued.steps`:
 * where its steps stand). Up to 11, a run was written in the oldest format that had what it used, and took each
 * change of kern's workflow code from a Temporal patch marker recorded in its history.
 *
 * Version 12 says which workflow code a run runs by itself: a run of format 12 takes every change up to it, records
 * no patch markers (four history events and two visibility writes fewer per run; see `workflows/patches.ts`), and is
 * written for every run, since a worker of format 11 would record the markers that this one does not expect.
 * A worker reads every version up to its own (see `readRunInput`, which turns older ones into this one); bump this
 * when a field is added that readers need, when one changes meaning, or when the workflow code changes what a run does.
 */
export const RUN_INPUT_VERSION = 12;

/** True when a run may pause for a person: a tool of its component, or of its members or steps, needs one (MCP's too). */
export function mayPause(input: RunInput): boolean {
  return someModel(
    componentOf(input),
    (model) =>
      model.tools.some((tool) => tool.needs !== undefined) ||
      (model.mcp ?? []).some((source) => (source.requiresConfirmation?.length ?? 0) > 0),
  );
}

/** True when `test` holds for the component, or for one of its members or its steps' agents and teams (any depth). */
export function someModel(component: ComponentSpec, test: (model: ModelComponentSpec) => boolean): boolean {
  switch (component.kind) {
    case 'agent':
      return test(component);
    case 'team':
      return test(component) || component.members.some((member) => someModel(member, test));
    case 'workflow':
      return component.steps.some(function stepHas(step: StepSpec): boolean {
        if (step.type !== 'step') return innerSteps(step).some(stepHas);
        return step.component !== undefined && someModel(step.component, test);
      });
    default:
      return unreachable(component, 'component spec');
  }
}

/** The steps a composite step holds, every branch of it. */
export function innerSteps(step: Exclude<StepSpec, { type: 'step' }>): StepSpec[] {
  switch (step.type) {
    case 'router':
      return step.choices;
    case 'condition':
      return [...step.steps, ...(step.elseSteps ?? [])];
    case 'steps':
    case 'parallel':
    case 'loop':
      return step.steps;
    default:
      return unreachable(step, 'step');
  }
}

/** Fields every run's input has. New fields must be optional. */
export interface RunInputBase {
  version: number;
  runId: string;
  sessionId: string;
  userId?: string;
  parentRunId?: string;
  input: string;
  /** ISO time at which the caller asked for the run. */
  createdAt: string;
  /** Set when a cancel was recorded for this run id before the run was started. */
  cancelledBeforeStart?: boolean;
  /** Workflow ids of the teams above this run: its events are forwarded to their streams too. */
  forwardEventsTo?: string[];
  /** Someone streams this run as it goes (`stream: true`): content deltas go out in short batches. */
  liveStream?: boolean;
  /** How a child run stands to its parent, for labels: `member of ResearchTeam`, `step Research of Content`. */
  roleInParent?: string;
  /**
   * Session state for the run: the caller's seed (merged over what the session holds), or, for a member or step run,
   * the state of the run that started it.
   */
  sessionState?: Record<string, unknown>;
  /** The run reads its session when it starts (history, state); set by the client when the session may exist. */
  readSession?: boolean;
  /**
   * Large payloads are kept outside history (the starting client has a payload store, as its workers must): the
   * run's final output is bounded by `STORED_OUTPUT_BUDGET_BYTES` rather than by Temporal's payload limit. Older
   * workers pass over it and bound the output as before.
   */
  payloadsStored?: boolean;
  /** This run's answer shape (`run(input, { outputSchema })`), instead of its component's. Not passed to members. */
  outputSchema?: OutputSchemaSpec;
  /**
   * Set on the input a schedule starts its runs with, the same for every firing: each run takes its run id from its
   * workflow id (Temporal appends the firing's time to the schedule's) and its `createdAt` from its start.
   */
  scheduleId?: string;
  /**
   * A fork or regenerate of an earlier run (agents and teams): the conversation it starts from, instead of its
   * session's history and `input` (which then names the question, for its record and its session's turn).
   */
  seed?: RunSeed;
  /**
   * Set on the input of a run's next execution, when the run continued as new: where the run stands. Written by the
   * run (format 10; 11 for a workflow run of steps); a client never sets it.
   */
  continued?: RunContinuation;
}

/**
 * What a run carries into its next execution when it continues as new (see `workflows/run-continuation.ts`): its
 * output so far, its stream, and where its model loop (an agent's or team's) or its steps (a workflow's) stand. Taken
 * at a point where nothing is in flight: no model, tool or step function call, no member or step run, no pause.
 */
export interface RunContinuation {
  /** How many executions the run has had before this one. */
  executions: number;
  /** The run's output as it stood (`RUNNING`): conversation, tools, members, metrics, session state. */
  output: AnyRunOutput;
  /** When the run's first execution started it (ISO), for its duration. */
  startedAt: string;
  /** The run's event stream (`@temporalio/workflow-streams`' own state): every event so far, in order. */
  stream: WorkflowStreamState;
  /** How many batches of events the run had forwarded to the teams above it (their streams drop repeats by it). */
  forwardedBatches: number;
  /** The session state the run started from, to tell its own changes apart when it writes its session. */
  sessionBaseline: SessionState;
  /** The model loop's turn and structured-answer retries so far (agent and team runs). */
  round?: number;
  outputRetries?: number;
  /** The tools the run's MCP servers listed when it started (offered again as they were). */
  mcpTools?: ToolSpec[];
  /** The canceller wants the exact answer so far (`exactPartialOnCancelSignal`). */
  exactPartialOnCancel?: boolean;
  /** Where a workflow run's steps stand (format 11). */
  steps?: StepsProgress;
}

/**
 * Where a workflow run's steps stand when it continues as new, before a step starts. Its next execution runs its steps
 * again from the first, taking what is recorded here instead of running anything (and publishing no event twice),
 * until it reaches the step it handed over at. Positions name a step by its place: `2` is the third top-level step,
 * `2/0` the first step inside it, `2#3/0` the first step of a loop's third iteration; a function call adds its role
 * (`2/0:evaluator`). The top-level steps that finished are the output's `stepResults`; what is recorded here is what
 * ran inside the composite steps still running (a finished one's output holds its inner steps').
 */
export interface StepsProgress {
  /** The outputs of the inner steps that finished, by position. */
  finished: Record<string, StepOutput>;
  /** The results of the evaluators, selectors and end conditions called, by position. */
  decided: Record<string, StepFunctionResult>;
  /** When each composite step and loop iteration still running started (ISO), by position: its events are out. */
  started: Record<string, string>;
  /** Every step's latest output by step name: what the next steps get as `previousStepOutputs`. */
  outputs: Record<string, StepOutput>;
}

/** The single input of the `agentRun` workflow. */
export interface AgentRunInput extends RunInputBase {
  kind: 'agent';
  agent: AgentSpec;
}

/** The single input of the `teamRun` workflow. */
export interface TeamRunInput extends RunInputBase {
  kind: 'team';
  team: TeamSpec;
}

/** The single input of the `workflowRun` workflow. */
export interface WorkflowRunInput extends RunInputBase {
  kind: 'workflow';
  workflow: WorkflowSpec;
}

/** The input of any run kern starts. */
export type RunInput = AgentRunInput | TeamRunInput | WorkflowRunInput;

/** The input of a run of one kind. */
export type RunInputOf<K extends RunKind> = Extract<RunInput, { kind: K }>;

/** The agent, team or workflow a run runs. */
export function componentOf(input: RunInput): ComponentSpec {
  switch (input.kind) {
    case 'agent':
      return input.agent;
    case 'team':
      return input.team;
    case 'workflow':
      return input.workflow;
    default:
      return unreachable(input, 'run input');
  }
}

/** The model id a run's component answers with; empty for a workflow of steps, which has none of its own. */
export function modelIdOf(input: RunInput): string {
  switch (input.kind) {
    case 'agent':
      return input.agent.model.id;
    case 'team':
      return input.team.model.id;
    case 'workflow':
      return '';
    default:
      return unreachable(input, 'run input');
  }
}

/** How many earlier runs of its session a run puts before its input: 0 for member and step runs, and without history. */
export function historyRunsOf(input: RunInput): number {
  if (input.parentRunId !== undefined) return 0;
  switch (input.kind) {
    case 'agent':
      return input.agent.numHistoryRuns ?? 0;
    case 'team':
      return input.team.numHistoryRuns ?? 0;
    case 'workflow':
      return 0;
    default:
      return unreachable(input, 'run input');
  }
}
