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

/** An agent, resolved to data. */
export interface AgentSpec {
  id: string;
  name: string;
  description?: string;
  role?: string;
  instructions: string[];
  model: ModelSpec;
  tools: ToolSpec[];
  /** How many model → tools rounds one run may take before it ends `ERROR`. */
  maxToolRounds: number;
  /** Keep every event on the final output (`events`). */
  storeEvents?: boolean;
}

/** How a team's leader works with its members. */
export type TeamMode = 'coordinate' | 'route' | 'broadcast';

/** A team member: an agent or a nested team. */
export type MemberSpec = { kind: 'agent'; agent: AgentSpec } | { kind: 'team'; team: TeamSpec };

/** A team, resolved to data: its leader's settings and its members. */
export interface TeamSpec {
  id: string;
  name: string;
  description?: string;
  role?: string;
  instructions: string[];
  /** The leader's model. */
  model: ModelSpec;
  mode: TeamMode;
  members: MemberSpec[];
  /** The leader's own tools, besides delegation. */
  tools: ToolSpec[];
  maxToolRounds: number;
  storeEvents?: boolean;
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
}

/** The single input of the `agentRun` workflow. */
export interface AgentRunInput extends RunInputBase {
  agent: AgentSpec;
}

/** The single input of the `teamRun` workflow. */
export interface TeamRunInput extends RunInputBase {
  team: TeamSpec;
}

/** The input of any run kern starts. */
export type RunInput = AgentRunInput | TeamRunInput;

/** What kind of component a run runs. */
export type RunKind = 'agent' | 'team';

export function kindOf(input: RunInput): RunKind {
  return 'team' in input ? 'team' : 'agent';
}

/** The id, name and model of what a run runs. */
export function componentOf(input: RunInput): { id: string; name: string; model: ModelSpec } {
  const component = 'team' in input ? input.team : input.agent;
  return { id: component.id, name: component.name, model: component.model };
}
