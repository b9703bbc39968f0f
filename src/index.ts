// `kern`: define agents, teams, workflows and tools; start, poll, stream, cancel and continue their runs. What the
// worker runs is `kern/worker`, the HTTP API `kern/server`, helpers for tests `kern/testing`.

// What runs.
export { Agent, type AgentOptions, type AnyAgent } from './define/agent';
export { Team, type TeamOptions, type AnyTeam } from './define/team';
export { Workflow, type WorkflowOptions, type WorkflowRunResult } from './define/workflow';
export { Step, Steps, Parallel, Condition, Loop, Router, type WorkflowStep } from './define/steps';
export type { ComponentOptions, ModelComponentOptions } from './define/component-options';
export type { ForkOptions } from './define/component';
export type { ContinueFrom, ForkRequest } from './shared/forks';
export { OpenAIResponses, OpenAIChat, type Model, type ModelOptions } from './define/models';
export { defineTool, type ToolDefinition } from './define/tool';
export type { Tool, ToolContext, StepFunction, EndCondition, McpServerConfig } from './define/contracts';
export { defineApp, type KernApp } from './define/app';
export type { StepInput } from './shared/step-functions';

// The connection to Temporal.
export {
  KernClient,
  type KernClientOptions,
  type CancelIntent,
  type CancelOptions,
  type RunListFilter,
  type RunPage,
  type NewSession,
  type Session,
  type SessionChanges,
  type SessionInfo,
  type SessionListFilter,
  type SessionPage,
  type SessionFork,
} from './client/kern-client';
export {
  KernSchedule,
  type ScheduleInfo,
  type ScheduleOptions,
  type ScheduleOverlap,
  type ScheduleTimes,
} from './client/schedules';
export type { TracingOptions } from './client/tracing';
export type { SubscribeOptions } from './client/subscription';
export type { ConnectionSettings } from './client/connection-settings';
export { kernDataConverter, payloadSettingsFromEnv, type PayloadSettings } from './client/data-converter';
export { EncryptionCodec, type EncryptionKey } from './client/payload-encryption';
export { LocalPayloadStore, prunePayloadStore } from './client/payload-store';
export { S3PayloadStore } from './client/s3-payload-store';
export type { WaitOptions } from './client/run-outputs';
export { MAX_INPUT_BYTES, type RunOptions } from './client/run-options';
export { cancelRun, continueRun } from './client/default-client';

// What runs produce: statuses, events, outputs, what a paused run waits for.
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
export type { SessionState } from './shared/sessions';
export type {
  RunRequirement,
  RequirementAnswer,
  RequirementNeed,
  ContinueRequest,
  UserInputField,
} from './shared/requirements';

// Runs as data: what a run's workflow input carries (`component.runInputFor`, `KernClient.startRun`).
export type { RunKind } from './shared/kinds';
export type {
  AgentSpec,
  TeamSpec,
  TeamMode,
  MemberSpec,
  WorkflowSpec,
  StepSpec,
  ComponentSpec,
  ModelSpec,
  ToolSpec,
  McpToolSource,
  OutputSchemaSpec,
  AgentRunInput,
  TeamRunInput,
  WorkflowRunInput,
  RunInput,
} from './shared/specs';

// Errors: one base class, one class per failure, each with a stable `name`.
export {
  KernError,
  InvalidInputError,
  RunIdInUseError,
  RunNotFound,
  RunNotPaused,
  RunNotContinuable,
  ForkRefused,
  RequirementAnswersInvalid,
  ScheduleIdInUseError,
  ScheduleNotFound,
  SessionIdInUseError,
  SessionUnavailable,
  TemporalUnreachable,
  RunEventsUnavailable,
  ModelRequestRejected,
  ModelUnavailable,
  ToolArgumentsInvalid,
  ToolNotFound,
  MaxToolRoundsExceeded,
  StepFunctionNotFound,
  StepFunctionFailed,
  StepFunctionInvalidResult,
  StepFailed,
  UnknownRoute,
  RunTooLarge,
  OutputInvalid,
} from './shared/errors';
