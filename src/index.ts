// kern's client-side API: define agents and tools, start, poll and cancel runs.
export { Agent, type AgentOptions, type AnyAgent } from './client/agent';
export { Team, type TeamOptions, type AnyTeam } from './client/team';
export { Workflow, type WorkflowOptions, type WorkflowRunResult } from './client/workflow';
export {
  Step,
  Steps,
  Parallel,
  Condition,
  Loop,
  Router,
  type StepFunction,
  type EndCondition,
  type WorkflowStep,
} from './client/steps';
export type { StepInput } from './shared/step-functions';
export {
  KernClient,
  type KernClientOptions,
  type CancelIntent,
  type CancelOptions,
  type RunListFilter,
  type RunPage,
  type Session,
  type SessionInfo,
  type SessionListFilter,
  type SessionPage,
} from './client/kern-client';
export type { SessionState } from './shared/sessions';
export {
  KernSchedule,
  type ScheduleInfo,
  type ScheduleOptions,
  type ScheduleOverlap,
  type ScheduleTimes,
} from './client/schedules';
export type { TracingOptions } from './client/tracing';
export { OpenAIResponses, OpenAIChat, type Model, type ModelOptions } from './client/models';
export { defineTool, defineApp, type Tool, type ToolDefinition, type ToolContext, type KernApp } from './client/define';
export type {
  RunRequirement,
  RequirementAnswer,
  RequirementNeed,
  ContinueRequest,
  UserInputField,
} from './shared/requirements';
export { RunOptions, MAX_INPUT_BYTES } from './client/run-options';
export { RunStatus, isTerminalStatus } from './shared/run-status';
export {
  RunEvent,
  TeamRunEvent,
  WorkflowRunEvent,
  baseEventName,
  type RunEventName,
  type TeamRunEventName,
  type WorkflowRunEventName,
  type AgentEvent,
  type TeamEvent,
  type WorkflowEvent,
  type AnyRunEvent,
  type RunEventSource,
} from './shared/events';
export type {
  RunOutput,
  TeamRunOutput,
  WorkflowRunOutput,
  StepOutput,
  AnyRunOutput,
  RunOutputOf,
  RunMetrics,
  RunError,
  Message,
  ToolCall,
  ToolExecution,
} from './shared/run-output';
export type {
  RunKind,
  AgentSpec,
  TeamSpec,
  TeamMode,
  MemberSpec,
  ModelSpec,
  ToolSpec,
  AgentRunInput,
  TeamRunInput,
  WorkflowSpec,
  StepSpec,
  WorkflowRunInput,
  RunInput,
} from './shared/specs';
export * from './shared/errors';

import { KernClient } from './client/kern-client';
import type { ContinueRequest } from './shared/requirements';

/**
 * Cancels a run by id with the default client (from the environment). `true` when a pending or running run was
 * asked to cancel; `false` for a finished or unknown run. For an unknown id the cancel is recorded, and a run
 * started later with that id ends `CANCELLED` without calling the model. `exactPartial`: see `CancelOptions`.
 */
export async function cancelRun(
  runId: string,
  options: { client?: KernClient; exactPartial?: boolean } = {},
): Promise<boolean> {
  const { client, ...cancel } = options;
  return (client ?? (await KernClient.default())).cancelRun(runId, cancel);
}

/**
 * Answers what a `PAUSED` run waits for, with the default client (from the environment); see
 * {@link KernClient.continueRun}. Resolves once the run has taken the answers.
 */
export async function continueRun(
  runId: string,
  request: ContinueRequest,
  options: { client?: KernClient } = {},
): Promise<void> {
  await (options.client ?? (await KernClient.default())).continueRun(runId, request);
}
