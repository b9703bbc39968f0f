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

/** Version of {@link AgentRunInput}; bump when a field changes meaning, so replays can tell. */
export const AGENT_RUN_INPUT_VERSION = 1;

/** The single input of the `agentRun` workflow. New fields must be optional. */
export interface AgentRunInput {
  version: number;
  runId: string;
  sessionId: string;
  userId?: string;
  parentRunId?: string;
  input: string;
  agent: AgentSpec;
  /** ISO time at which the caller asked for the run. */
  createdAt: string;
  /** Set when a cancel was recorded for this run id before the run was started. */
  cancelledBeforeStart?: boolean;
}
