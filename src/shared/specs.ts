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
}

/** An agent, resolved to data. */
export type AgentSpec = ModelComponentSpec;

/** How a team's leader works with its members. */
export type TeamMode = 'coordinate' | 'route' | 'broadcast';

/** A team member: an agent or a nested team. */
export type MemberSpec = { kind: 'agent'; agent: AgentSpec } | { kind: 'team'; team: TeamSpec };

/** A team, resolved to data: its leader's settings and its members. */
export interface TeamSpec extends ModelComponentSpec {
  mode: TeamMode;
  members: MemberSpec[];
}

/** Version of {@link AgentRunInput} and {@link TeamRunInput}; bump when a field changes meaning. */
export const AGENT_RUN_INPUT_VERSION = 1;

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
}

/** The single input of the `agentRun` workflow. */
export interface AgentRunInput extends RunInputBase {
  agent: AgentSpec;
}

/** The single input of the `teamRun` workflow. */
export interface TeamRunInput extends RunInputBase {
  team: TeamSpec;
}

/** A step of a workflow, resolved to data. Functions are named: the worker runs the one registered under the name. */
export type StepSpec =
  | {
      type: 'step';
      name: string;
      agent?: AgentSpec;
      team?: TeamSpec;
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
  id: string;
  name: string;
  description?: string;
  steps: StepSpec[];
  storeEvents?: boolean;
}

/** The single input of the `workflowRun` workflow. */
export interface WorkflowRunInput extends RunInputBase {
  workflow: WorkflowSpec;
}

/** The input of any run kern starts. */
export type RunInput = AgentRunInput | TeamRunInput | WorkflowRunInput;

/** What kind of component a run runs. */
export type RunKind = 'agent' | 'team' | 'workflow';

export function kindOf(input: RunInput): RunKind {
  return 'workflow' in input ? 'workflow' : 'team' in input ? 'team' : 'agent';
}

/** The id, name and model id (empty for a workflow of steps) of what a run runs. */
export function componentOf(input: RunInput): { id: string; name: string; modelId: string } {
  const component = 'workflow' in input ? input.workflow : 'team' in input ? input.team : input.agent;
  return { id: component.id, name: component.name, modelId: 'model' in component ? component.model.id : '' };
}
