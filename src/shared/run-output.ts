import type { AnyRunEvent } from './events';
import type { RunRequirement, UserInputField } from './requirements';
import type { RunStatus } from './run-status';
import type { SessionState } from './sessions';
import type { RunKind } from './specs';
import { unreachable } from './never';

/** One tool call the model asked for. `arguments` is the JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A message of the conversation, provider-neutral. */
export type Message =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; fromHistory?: boolean }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[]; fromHistory?: boolean }
  | { role: 'tool'; toolCallId: string; toolName: string; content: string };

/** A tool execution as recorded on the run. */
export interface ToolExecution {
  toolCallId: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  result?: string;
  toolCallError?: boolean;
  createdAt: string;
  /** For a call that waited for a person (the Python framework's fields): what it needed, and the answer. */
  requiresConfirmation?: boolean;
  confirmed?: boolean;
  confirmationNote?: string;
  requiresUserInput?: boolean;
  userInputSchema?: UserInputField[];
  externalExecutionRequired?: boolean;
  answered?: boolean;
}

/** Token counts and timings. Durations are in seconds, as in the Python framework. */
export interface RunMetrics {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Input tokens served from the provider's prompt cache (part of `inputTokens`), when the provider reports any. */
  cacheReadTokens?: number;
  /** Output tokens spent on reasoning (part of `outputTokens`), when the provider reports any. */
  reasoningTokens?: number;
  /** Wall time from the run's start to its end (or now, while it runs). */
  duration?: number;
  /** From the first model request to its first token. */
  timeToFirstToken?: number;
}

/** Why a run ended `ERROR`. `type` is the error's class name (for example `ModelRequestRejected`). */
export interface RunError {
  type: string;
  message: string;
}

/**
 * Fields every run has, while it runs and after it ends. `C` is the type of its finished content: text, or for a run
 * with an `outputSchema` the parsed answer (`contentType` then names the schema).
 */
export interface RunOutputBase<C = string> {
  runId: string;
  sessionId: string;
  userId?: string;
  parentRunId?: string;
  status: RunStatus;
  /**
   * The answer; partial while running or after a cancel. With an `outputSchema`, the parsed answer once the run has
   * completed (the raw text before that).
   */
  content: C | null;
  /** `str` for text; for a structured answer, the name of its schema. */
  contentType?: string;
  input: string;
  model: string;
  messages: Message[];
  tools: ToolExecution[];
  metrics: RunMetrics;
  error?: RunError;
  /** Every event of the run, when its component was built with `storeEvents: true`. */
  events?: AnyRunEvent[];
  /** The session state as this run sees it (with its own changes), when the run reads or changes it. */
  sessionState?: SessionState;
  /** While `PAUSED`: what the run waits for from a person (its own tool calls', and its members' and steps'). */
  requirements?: RunRequirement[];
  /** A fork or regenerate: the run it started from, and how many of its messages it kept (see `forkRun`). */
  forkedFrom?: { runId: string; messageIndex: number; regenerate?: true };
  createdAt: string;
  updatedAt: string;
}

/** The output of an agent run; `C` is its content's type (see {@link RunOutputBase}). */
export interface RunOutput<C = string> extends RunOutputBase<C> {
  kind: 'agent';
  agentId: string;
  agentName: string;
}

/** The output of a team run: the leader's run, plus one output per member run it delegated to. */
export interface TeamRunOutput<C = string> extends RunOutputBase<C> {
  kind: 'team';
  teamId: string;
  teamName: string;
  memberResponses: Array<RunOutput | TeamRunOutput>;
}

/** What one step of a workflow produced. Composite steps (`Steps`, `Parallel`, …) hold their steps' outputs. */
export interface StepOutput {
  stepName: string;
  stepType: 'step' | 'steps' | 'parallel' | 'condition' | 'loop' | 'router';
  content: string | null;
  success: boolean;
  /** The step failed, and the workflow went on past it (`skipOnFailure`). */
  skipped?: boolean;
  error?: RunError;
  /** The run id of an agent or team step's run. */
  runId?: string;
  /** The step's own status: `COMPLETED`, or `ERROR` / `CANCELLED` for a step that did not finish. */
  status: RunStatus;
  steps?: StepOutput[];
  metrics?: { duration?: number };
}

/** The output of a workflow run. `content` is the last step's content. */
export interface WorkflowRunOutput extends RunOutputBase {
  kind: 'workflow';
  workflowId: string;
  workflowName: string;
  stepResults: StepOutput[];
}

/** The output of any run: a union keyed on `kind`. */
export type AnyRunOutput = RunOutput | TeamRunOutput | WorkflowRunOutput;

/** The output of a run of one kind. */
export type RunOutputOf<K extends RunKind> = Extract<AnyRunOutput, { kind: K }>;

/** True when `output` is of the given kind, narrowing its type. */
export function isRunOutputOf<K extends RunKind>(output: AnyRunOutput, kind: K): output is RunOutputOf<K> {
  return output.kind === kind;
}

/** The id and name of the agent, team or workflow a run ran. */
export function componentIdentityOf(output: AnyRunOutput): { id: string; name: string } {
  switch (output.kind) {
    case 'agent':
      return { id: output.agentId, name: output.agentName };
    case 'team':
      return { id: output.teamId, name: output.teamName };
    case 'workflow':
      return { id: output.workflowId, name: output.workflowName };
    default:
      return unreachable(output, 'run output');
  }
}

/** Zeroed metrics. */
export function emptyMetrics(): RunMetrics {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
}
